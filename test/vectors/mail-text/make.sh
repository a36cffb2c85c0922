#!/bin/sh
# How the vectors of test/mail-text-charset.test.ts were made (GnuPG 2.2.40, Python 3.11's
# email package, NeoMutt 20220429), kept for the record: the tests read the files, they do
# not run this. docs/message-payload.md §4.5-§4.7, §6.6-§6.7. The key is the text-mode
# vectors' (test/vectors/text-mode/key.asc); the Latin-1 and windows-1252 texts and their
# signatures are test/vectors/charset/'s.
#   sh test/vectors/mail-text/make.sh /tmp/empty-folder
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
export GNUPGHOME="$1"
g() { gpg --batch --yes --quiet --pinentry-mode loopback --passphrase '' "$@"; }
g --import "$HERE/../text-mode/key.asc"
# RFC 3676 text as a MUA sends it: soft line breaks (a space before the line end), a
# space-stuffed line (" From", "  leading"), a quote, the signature separator "-- ".
# delsp=yes: the space before each soft break was added by the MUA and goes on unflowing.
printf 'This paragraph was written in a flowed-aware editor: each line but \nthe last ends in a space, a soft break. Caf\303\251, Stra\303\237e, na\303\257ve. \nEnd of the paragraph.\n\n From the second paragraph, a line that starts with From.\n> quoted line\n  leading space line\n-- \nSignature\n' > "$HERE/flowed.txt"
printf '\346\227\245\346\234\254\350\252\236\343\201\256 \n\343\203\206\343\202\255\343\202\271\343\203\210\343\200\202\nNext line.\n' > "$HERE/flowed-delsp.txt"
for name in flowed flowed-delsp; do
  g --clearsign -o "$HERE/$name.gpg-clear.asc" "$HERE/$name.txt"
  g --armor --textmode --sign -o "$HERE/$name.gpg-inline-text.asc" "$HERE/$name.txt"
done
# docs/gateway.md §3.8: a PGP/MIME ciphertext without protected headers, for mail whose outer
# Subject and From name are raw windows-1252 / Latin-1 bytes (make-mail.py writes the message).
printf 'Content-Type: text/plain; charset=utf-8\r\n\r\nEncrypted, no protected headers.\r\n' | g --armor --encrypt --trust-model always --recipient text@example.org -o "$HERE/outer-headers.gpg-enc.asc"
python3 "$HERE/make-mail.py"
# NeoMutt with text_flowed=yes refuses inline PGP ("Inline PGP can't be used with
# format=flowed. Revert to PGP/MIME?"); answered yes, it sends PGP/MIME. Made in tmux with
# /etc/neomuttrc.d/gpg.rc, crypt_autosign=yes, pgp_autoinline=yes, text_flowed=yes,
# editor="true", abort_unmodified=no, -i flowed.txt, 'y' then 'y':
#   neomutt-flowed.pgpmime.eml (its Date and Message-ID as NeoMutt wrote them).
