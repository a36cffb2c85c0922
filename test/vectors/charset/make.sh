#!/bin/sh
# How the vectors of test/charset-signatures.test.ts were made (GnuPG 2.2.40, RNP 0.16.3,
# sq 0.27), kept for the record: the tests read the files, they do not run this.
# docs/message-payload.md §6.5-§6.6: text signed as the bytes of its charset, not as UTF-8.
# The key is the text-mode vectors' (test/vectors/text-mode/key.asc).
#   sh test/vectors/charset/make.sh /tmp/empty-folder
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
KEY="$HERE/../text-mode/key.asc"
export GNUPGHOME="$1"
g() { gpg --batch --yes --quiet --pinentry-mode loopback --passphrase '' "$@"; }
g --import "$KEY"
# The texts, each in its charset (iconv from UTF-8): é ß ü in Latin-1; € and the
# typographic dash and quotes of windows-1252 (0x80, 0x96, 0xAB 0xBB); Japanese in
# Shift_JIS and in ISO-2022-JP (escape sequences, 7 bits).
printf 'Grüße aus Köln: café, Straße, naïve.\nZweite Zeile é ß\n' | iconv -f UTF-8 -t ISO-8859-1 > "$HERE/latin1.txt"
printf 'Prix : 20 € – « déjà vu »\nFin.\n' | iconv -f UTF-8 -t WINDOWS-1252 > "$HERE/cp1252.txt"
printf '日本語のテキスト、署名付き。\n二行目です。\n' | iconv -f UTF-8 -t SHIFT_JIS > "$HERE/sjis.txt"
printf '日本語のテキスト、署名付き。\n二行目です。\n' | iconv -f UTF-8 -t ISO-2022-JP > "$HERE/iso2022jp.txt"
for name in latin1 cp1252 sjis iso2022jp; do
  f="$HERE/$name.txt"
  g --clearsign -o "$HERE/$name.gpg-clear.asc" "$f"                         # clear-signed
  g --armor --sign -o "$HERE/$name.gpg-inline.asc" "$f"                     # inline-signed (binary)
  g --armor --textmode --sign -o "$HERE/$name.gpg-inline-text.asc" "$f"     # inline-signed, text mode
  rnp --homedir "$1/rnp" --keyfile "$KEY" --password '' --clearsign --overwrite --output "$HERE/$name.rnp-clear.asc" "$f"
  sq sign --cleartext-signature --signer-key "$KEY" -o "$HERE/$name.sq-clear.asc" "$f"
done
