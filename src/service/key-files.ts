// Writes the public certificate (as outsiders get it, docs/decisions/post-quantum.md) and the revocation certificate as files on the
// stick, for the UI (the CLI prints them to stdout: `caliop key export`). Neither
// holds a secret; the revocation certificate must still be kept out of others' hands
// (whoever has it can revoke the key). Files are written whole or not at all.
// They go under vault/, the only folder caliop writes after the image is made and
// the one the signed MANIFEST leaves out (docs/manifest.md §4): `caliop stick verify`
// stays clean after an export.
import { join } from 'node:path';
import { CaliopError } from '../errors.js';
import { writeFileAtomically } from '../edges/atomic-file.js';
import { ensureFolder } from '../edges/plain-files.js';
import type { StickSession } from './stick-session.js';

export const EXPORT_FOLDER = 'exports';


export interface ExportedKeyFiles {
  readonly certPath: string;
  readonly revocationPath: string;
}

export async function exportKeyFilesToStick(session: StickSession): Promise<ExportedKeyFiles> {
  const identity = await session.identity();
  const folder = join(session.stick.vaultDir, EXPORT_FOLDER);
  const base = identity.fingerprint.slice(-16);
  const certPath = join(folder, `${base}.cert.asc`);
  const revocationPath = join(folder, `${base}.revocation.asc`);
  try {
    ensureFolder(folder);
    await writeFileAtomically(certPath, new TextEncoder().encode(identity.armoredCertForOutsiders));
    await writeFileAtomically(revocationPath, new TextEncoder().encode(identity.revocationCertificate));
  } catch (error) {
    throw new CaliopError('stick_write_failed', `could not write the key files in ${folder}: ${(error as Error).message}`, { cause: error });
  }
  return { certPath, revocationPath };
}
