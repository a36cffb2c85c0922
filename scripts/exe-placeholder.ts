// A stand-in entry for `npm run build:exe` until the CLI (src/cli/main.ts) exists.
// It exercises what the real CLI needs from the single executable: a fast
// `--version` that loads no OpenPGP code, a lazily loaded openpgp, and the
// Argon2 wasm read from the executable's embedded asset (src/edges/argon2id.ts).

const args = process.argv.slice(2);

if (args[0] === '--version') {
  process.stdout.write('caliop 0.0.0-placeholder\n');
} else if (args[0] === 'selftest') {
  const openpgp = await import('openpgp');
  const { loadArgon2Wasm } = await import('../src/edges/argon2id.js');
  const wasm = await loadArgon2Wasm();
  const { privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ email: 'selftest@caliop.invalid' }], format: 'object' });
  process.stdout.write(`openpgp ${privateKey.getAlgorithmInfo().algorithm} argon2-wasm ${wasm.byteLength}\n`);
} else {
  process.stderr.write('caliop: error: this is the build placeholder; only --version and selftest exist\n');
  process.exitCode = 2;
}
