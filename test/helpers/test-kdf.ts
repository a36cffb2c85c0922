// A vault made by a release build (the executables: the real, calibrated Argon2id, which
// ignores CALIOP_UNSAFE_TEST_KDF) re-sealed with the test parameters of docs/vault-format.md
// §5.4, in the test's own process: every later unlock is then cheap, which a test that runs
// the executable many times needs on a loaded machine (issue 16: one real Argon2id took tens
// of seconds at load 30). The passphrase stays the same; the key and the store do not change.
import { UNSAFE_TEST_KDF } from '../../src/core/vault-format.js';
import { UNSAFE_TEST_KDF_ENV } from '../../src/edges/argon2id.js';
import { stickInFolder } from '../../src/service/stick-lookup.js';
import { StickSession } from '../../src/service/stick-session.js';

export async function resealWithTestKdf(stickFolder: string, passphrase: string): Promise<void> {
  const saved = process.env[UNSAFE_TEST_KDF_ENV];
  process.env[UNSAFE_TEST_KDF_ENV] = '1'; // §5.4: the switch that allows the test parameters, for this call only
  try {
    const session = await StickSession.unlock(stickInFolder(stickFolder), passphrase);
    await session.changePassphrase(passphrase, { ...UNSAFE_TEST_KDF });
  } finally {
    if (saved === undefined) delete process.env[UNSAFE_TEST_KDF_ENV];
    else process.env[UNSAFE_TEST_KDF_ENV] = saved;
  }
}
