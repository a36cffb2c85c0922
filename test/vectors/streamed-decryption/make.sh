#!/bin/sh
# How the vectors of test/pgp-stream-fast.test.ts were made (GnuPG 2.2.40, openpgp.js 6.3.0);
# kept for the record: the test reads the files, it does not run this.
#   sh test/vectors/streamed-decryption/make.sh /tmp/empty-folder
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
export GNUPGHOME="$1"
G=g
g() { gpg --batch --yes --quiet --pinentry-mode loopback --passphrase '' "$@"; }
node -e "let h=require('crypto').createHash('sha256').update('caliop streamed decryption');const o=[];for(let i=0;i<1250;i++){const d=h.copy().digest();o.push(d);h.update(d)}process.stdout.write(Buffer.concat(o))" > "$HERE/plain.bin"
$G --quick-gen-key 'Vector Peer <vector@example.org>' ed25519 sign never
FPR=$(gpg --with-colons --list-keys vector@example.org | awk -F: '/^fpr/{print $10; exit}')
$G --quick-add-key "$FPR" cv25519 encr never
$G --armor --export-secret-keys vector@example.org > "$HERE/key.asc"
T="--trust-model always -r vector@example.org -u vector@example.org"
# SEIPDv1, partial lengths of 8 KiB, one-pass signature, no compression.
$G $T -z 0 --cipher-algo AES256 --sign --encrypt -o "$HERE/gpg-signed.gpg" "$HERE/plain.bin"
# AES-128, unsigned, no compression: definite lengths (SEIPD 40059 bytes, legacy-format literal).
$G $T -z 0 --cipher-algo AES --encrypt -o "$HERE/gpg-aes128.gpg" "$HERE/plain.bin"
# Compressed (ZLIB), incompressible data: inflated by node:zlib.
$G $T --compress-algo zlib --sign --encrypt -o "$HERE/gpg-compressed.gpg" "$HERE/plain.bin"
# Compressible data (plain-text.bin, ~4.5x), ZIP / ZLIB signed, ZIP unsigned: node:zlib; BZip2: openpgp.js.
node -e "const o=[];let h=require('crypto').createHash('sha256').update('caliop compressed');const w=['stick','relay','message','inbox','vault','cipher','armor','sealed','deflate','signature','literal','packet'];for(let i=0;i<6000;i++){const d=h.copy().digest();h.update(d);o.push('line '+i+': '+[0,1,2,3,4,5].map(k=>w[d[k]%w.length]).join(' ')+' '+d.subarray(0,3).toString('hex')+'\\n')}process.stdout.write(o.join(''))" > "$HERE/plain-text.bin"
$G $T --compress-algo zip --sign --encrypt -o "$HERE/gpg-zip.gpg" "$HERE/plain-text.bin"
$G $T --compress-algo zlib --sign --encrypt -o "$HERE/gpg-zlib-text.gpg" "$HERE/plain-text.bin"
$G $T --compress-algo bzip2 --sign --encrypt -o "$HERE/gpg-bzip2.gpg" "$HERE/plain-text.bin"
$G $T --compress-algo zip --encrypt -o "$HERE/gpg-zip-unsigned.gpg" "$HERE/plain-text.bin"
# A text signature (canonical line ends): left to openpgp.js.
$G $T -z 0 --textmode --sign --encrypt -o "$HERE/gpg-textmode.gpg" "$HERE/plain.bin"
# No MDC at all (SED, tag 9): left to openpgp.js, which refuses it.
$G $T -z 0 --rfc2440 --cipher-algo AES256 --sign --encrypt -o "$HERE/gpg-no-mdc.gpg" "$HERE/plain.bin"
# Armored (issue 13, the armor read by src/core/openpgp-armor-stream.ts): no compression...
$G $T -z 0 --armor --sign --encrypt -o "$HERE/gpg-signed.asc" "$HERE/plain.bin"
# ... and gpg's defaults (ZLIB).
$G $T --armor --sign --encrypt -o "$HERE/gpg-default.asc" "$HERE/plain.bin"
# sq 0.27's defaults (armored, ZIP with bytes after the deflate stream's end).
gpg --armor --export vector@example.org > "$1/cert.asc"
gpg --armor --export-secret-keys vector@example.org > "$1/key.asc"
sq encrypt --recipient-cert "$1/cert.asc" --signer-key "$1/key.asc" --output "$HERE/sq-signed.asc" "$HERE/plain.bin"
# sq's default ("pad": ZIP stored blocks, padding after the deflate end) and --compression zip, binary.
sq encrypt --binary --recipient-cert "$1/cert.asc" --signer-key "$1/key.asc" --output "$HERE/sq-text.pgp" "$HERE/plain-text.bin"
sq encrypt --binary --compression zip --recipient-cert "$1/cert.asc" --signer-key "$1/key.asc" --output "$HERE/sq-zip.pgp" "$HERE/plain-text.bin"
# openpgp.js 6.3.0, as `caliop encrypt --sign` makes them (the seeds of the mutation test, which
# once made them afresh at each run; scripts/fuzz's decrypt target still does): SEIPDv1 AES-256,
# signed, binary and armored, and ZLIB-compressed plain-text.bin.
cd "$HERE/../../.." && node --input-type=module -e "
import * as openpgp from 'openpgp'; import { readFileSync, writeFileSync } from 'node:fs';
const V = 'test/vectors/streamed-decryption/';
const stored = await openpgp.readPrivateKey({ armoredKey: readFileSync(V + 'key.asc', 'utf8') });
const key = stored.isDecrypted() ? stored : await openpgp.decryptKey({ privateKey: stored, passphrase: '' });
const v1 = { aeadProtect: false, preferredSymmetricAlgorithm: openpgp.enums.symmetric.aes256, preferredHashAlgorithm: openpgp.enums.hash.sha512 };
const encrypt = async (file, format, config) => openpgp.encrypt({ message: await openpgp.createMessage({ binary: readFileSync(V + file), format: 'binary' }), encryptionKeys: key.toPublic(), signingKeys: key, format, config });
writeFileSync(V + 'openpgpjs-signed.gpg', await encrypt('plain.bin', 'binary', v1));
writeFileSync(V + 'openpgpjs-signed.asc', await encrypt('plain.bin', 'armored', v1));
writeFileSync(V + 'openpgpjs-zlib.gpg', await encrypt('plain-text.bin', 'binary', { ...v1, preferredCompressionAlgorithm: openpgp.enums.compression.zlib }));
"
