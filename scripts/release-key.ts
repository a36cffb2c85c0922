// The release key of Caliop Key: the OpenPGP key that signs every stick image's
// MANIFEST (docs/manifest.md §6). Two commands:
//
//   release-key generate --secret-out PATH [--name NAME] [--passphrase-file FILE | --no-passphrase] [--allow-online]
//       An offline ceremony like the user's (docs/ceremony-offline-check.md): it refuses
//       to run while this machine is online unless --allow-online. It writes the secret
//       key to PATH, which must lie OUTSIDE this repository and not exist yet (mode 0600),
//       and prints the certificate (public part) on stdout. Put the certificate in the
//       image build config (releaseCertFile); keep the secret key offline.
//
//   release-key sign --key PATH --manifest FILE [--out FILE] [--passphrase-file FILE] [--date EPOCH]
//       Writes the detached armored signature of FILE (default: FILE.sig beside it).
//
// The passphrase is read from a file, never from argv (sop style). Library use:
// generateReleaseKey(), readReleaseSecretKey() and signManifestReproducibly() in
// src/service/manifest-signature.ts; scripts/build-image.ts calls them too.

import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeNetwork } from '../src/edges/network-probe.js';
import { generateReleaseKey, readReleaseSecretKey, signManifest, signManifestReproducibly } from '../src/service/manifest-signature.js';

const here = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = existsSync(join(here, '..', 'package.json')) ? resolve(here, '..') : resolve(here, '..', '..');


/** True when path is inside the repository (where a secret must never be written). */
export function isInsideRepo(path: string): boolean {
  const target = resolve(path);
  // Resolve symlinks of the existing parent (e.g. /tmp -> /private/tmp on macOS).
  const parent = existsSync(dirname(target)) ? realpathSync(dirname(target)) : dirname(target);
  const root = realpathSync(REPO_ROOT);
  const rel = relative(root, join(parent, target.split(sep).pop()!));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`release-key: ${name} needs a value`);
  return value;
}

function readPassphrase(args: string[]): string | undefined {
  const file = option(args, '--passphrase-file');
  return file === undefined ? undefined : readFileSync(file, 'utf8').replace(/\r?\n$/, '');
}

async function generateCommand(args: string[]): Promise<void> {
  const secretOut = option(args, '--secret-out');
  if (secretOut === undefined) throw new Error('release-key generate: give --secret-out PATH (outside the repository)');
  if (isInsideRepo(secretOut)) throw new Error(`release-key generate: ${secretOut} is inside the repository; the release secret key never enters it`);
  if (existsSync(secretOut)) throw new Error(`release-key generate: ${secretOut} exists; refusing to overwrite a key`);
  const passphrase = readPassphrase(args);
  if (passphrase === undefined && !args.includes('--no-passphrase')) {
    throw new Error('release-key generate: give --passphrase-file FILE (or --no-passphrase for a throwaway test key)');
  }
  if (!args.includes('--allow-online')) {
    const verdict = probeNetwork();
    if (verdict.online) {
      throw new Error(`release-key generate: refusing to generate the release key while this machine is online (${verdict.evidence.join('; ')}); disconnect, or pass --allow-online if you accept the risk`);
    }
  }
  const name = option(args, '--name');
  const key = await generateReleaseKey({ ...(name === undefined ? {} : { name }), ...(passphrase === undefined ? {} : { passphrase }) });
  writeFileSync(secretOut, key.secretKeyArmored, { mode: 0o600, flag: 'wx' });
  process.stderr.write(`release-key: secret key written to ${secretOut}\nrelease-key: fingerprint ${key.fingerprint}\n`);
  process.stdout.write(key.certArmored);
}

async function signCommand(args: string[]): Promise<void> {
  const keyPath = option(args, '--key');
  const manifestPath = option(args, '--manifest');
  if (keyPath === undefined || manifestPath === undefined) throw new Error('release-key sign: give --key PATH and --manifest FILE');
  const key = await readReleaseSecretKey(readFileSync(keyPath, 'utf8'), readPassphrase(args));
  const epoch = option(args, '--date') ?? process.env['SOURCE_DATE_EPOCH'];
  const manifest = new Uint8Array(readFileSync(manifestPath));
  const signature = epoch === undefined ? await signManifest(manifest, key) : await signManifestReproducibly(manifest, key, new Date(Number(epoch) * 1000));
  const out = option(args, '--out') ?? `${manifestPath}.sig`;
  writeFileSync(out, signature);
  process.stderr.write(`release-key: signature written to ${out}\n`);
}

async function main(): Promise<void> {
  const [command, ...args] = process.argv.slice(2);
  if (command === 'generate') await generateCommand(args);
  else if (command === 'sign') await signCommand(args);
  else throw new Error('usage: release-key generate --secret-out PATH ... | release-key sign --key PATH --manifest FILE ...');
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
