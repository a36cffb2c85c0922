// docs/stick-layout.md §1: nothing is written on the host outside the stick. The
// node-run CLI goes through a whole story with HOME, TMPDIR and the XDG folders
// pointed at empty folders, which must still be empty afterwards.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { caliop, PASSPHRASE, temporaryFolder } from './helpers/caliop.js';
import { startRelayProcess } from './relay/helpers/relay-process.js';

const scratch = temporaryFolder('host');
afterAll(() => scratch.remove());

function listRecursively(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).map((entry) => join(entry.parentPath, entry.name));
}

describe('the host stays untouched', () => {
  it('init, encrypt, decrypt, send and sync write only on the stick', async () => {
    const host = Object.fromEntries(['HOME', 'TMPDIR', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME', 'XDG_RUNTIME_DIR'].map((name) => [name, join(scratch.path, name.toLowerCase())]));
    for (const dir of Object.values(host)) mkdirSync(dir);
    const relayData = join(scratch.path, 'relay');
    mkdirSync(relayData);
    const relay = await startRelayProcess({ dataDir: relayData, domain: 'caliop.example' });
    try {
      const env = { PATH: process.env.PATH, ...host, CALIOP_UNSAFE_TEST_KDF: '1', TEST_PASSPHRASE: PASSPHRASE };
      const sticks = { alice: join(scratch.path, 'alice'), bob: join(scratch.path, 'bob') };
      for (const [name, stick] of Object.entries(sticks)) {
        mkdirSync(stick);
        const run = await caliop(['--stick', stick, '--batch', '--passphrase-file', '@ENV:TEST_PASSPHRASE', 'init', '--name', name, '--email', `${name}@caliop.example`, '--allow-online', '--server', relay.url, '--server-pin', relay.pin!], { env });
        expect(run.status, run.stderr).toBe(0);
      }
      const as = (stick: string, args: string[], input?: string) => caliop(['--stick', stick, '--passphrase-file', '@ENV:TEST_PASSPHRASE', ...args], { env, ...(input === undefined ? {} : { input }) });
      expect((await as(sticks.alice, ['send', '--to', 'bob@caliop.example', '--subject', 'x'], 'hello')).status).toBe(0);
      expect((await as(sticks.bob, ['sync'])).status).toBe(0);
      const bobCert = (await as(sticks.bob, ['key', 'export'])).stdout;
      expect((await as(sticks.alice, ['contacts', 'import'], bobCert)).status).toBe(0);
      const encrypted = await as(sticks.alice, ['encrypt', '--to', 'bob@caliop.example'], 'pipes');
      expect((await as(sticks.bob, ['decrypt'], encrypted.stdout)).stdout).toBe('pipes');
      for (const [name, dir] of Object.entries(host)) expect(listRecursively(dir), name).toEqual([]);
    } finally {
      await relay.stop();
    }
  });
});
