#!/bin/sh
# How the vectors of test/text-signature-forms.test.ts and test/mime-stream-text-mode.test.ts
# were made (GnuPG 2.2.40, RNP 0.16.3, sq and sqop 0.27 on sequoia-openpgp 1.12), kept for the
# record: the tests read the files, they do not run this. docs/message-payload.md §6.4-§6.5.
#   sh test/vectors/text-mode/make.sh /tmp/empty-folder
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
export GNUPGHOME="$1"
g() { gpg --batch --yes --quiet --pinentry-mode loopback --passphrase '' "$@"; }
g --quick-gen-key 'Text Peer <text@example.org>' ed25519 sign never
FPR=$(gpg --with-colons --list-keys text@example.org | awk -F: '/^fpr/{print $10; exit}')
g --quick-add-key "$FPR" cv25519 encr never
g --armor --export-secret-keys text@example.org > "$HERE/key.asc"
g --armor --export text@example.org > "$HERE/cert.asc"
# The data: the line ends on which the implementations disagree, and those on which they agree.
printf 'one\r\r\ntwo\r\n' > "$HERE/crcrlf.txt"          # CR CR LF
printf 'lone\rCR\nends in CR\r' > "$HERE/lonecr.txt"     # a CR inside a line, one at the very end
printf 'a\r\r\r\n\r\n\rb\r\r' > "$HERE/mixed.txt"        # three CRs, a CR starting a line, two at the end
printf 'bare\nLF\n' > "$HERE/lf.txt"
printf 'spaces  \ntab\t\r\n' > "$HERE/trailing.txt"
printf 'no final\r\nnewline' > "$HERE/nofinal.txt"
for name in crcrlf lonecr mixed lf trailing nofinal; do
  f="$HERE/$name.txt"
  g --armor --textmode --detach-sign -o "$HERE/$name.gpg.sig" "$f"          # detached, type 0x01
  g --armor --textmode --sign -o "$HERE/$name.gpg-inline.asc" "$f"          # inline-signed
  g --clearsign -o "$HERE/$name.gpg-clear.asc" "$f"                         # clear-signed
  g --armor --trust-model always -r text@example.org --textmode --sign --encrypt -o "$HERE/$name.gpg-enc.asc" "$f"
  rnp --homedir "$1/rnp" --keyfile "$HERE/key.asc" --password '' --clearsign --overwrite --output "$HERE/$name.rnp-clear.asc" "$f"
  sqop sign --as text "$HERE/key.asc" < "$f" > "$HERE/$name.sqop.sig"       # Sequoia's text mode
  sq sign --cleartext-signature --signer-key "$HERE/key.asc" -o "$HERE/$name.sq-clear.asc" "$f"
done
# PGP/MIME (RFC 3156 §5) as mutt signs it (gpg --detach-sign --textmode over the first part
# as it stands): a text part whose lines end in CR CR LF, and which ends in a CR.
printf 'Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 8bit\r\n\r\nFirst line\r\r\nsecond line\r\r\nlast\r' > "$HERE/pgpmime-part.eml"
g --armor --textmode --detach-sign -o "$HERE/pgpmime-part.gpg.sig" "$HERE/pgpmime-part.eml"
