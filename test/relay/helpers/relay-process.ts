// The real caliop-relay for tests: src/relay/relay-process.ts with a temporary data
// folder under os.tmpdir(). Needs the build (`npx tsc -p .` or `npm test`).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRelayProcess as startRelay, type RelayProcess as BaseRelayProcess } from '../../../src/relay/relay-process.js';
import { databaseNameFor, dropDatabase, ensureDatabase, TEST_STORE } from './test-store.js';

/** The built relay (vitest runs the TypeScript sources, the child runs the build). */
export const RELAY_MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../build/src/relay/main.js');

export interface RelayProcess extends BaseRelayProcess {
  /** stop() then removes the data folder if this helper made it. */
  dispose(): Promise<void>;
}

export interface StartRelayOptions {
  readonly domain?: string;
  /** Reuse a data folder (e.g. to restart); default: a new one under os.tmpdir(). */
  readonly dataDir?: string;
  /** Write these to a file in the data folder and pass --invite-tokens. */
  readonly inviteTokens?: readonly string[];
  readonly extraArgs?: readonly string[];
  readonly transport?: 'dev-tls' | 'insecure-http';
  readonly port?: number;
  /** Default TEST_STORE: 'postgres' gives the relay a database of its own, named after its data folder. */
  readonly store?: 'sqlite' | 'postgres';
}

export async function startRelayProcess(options: StartRelayOptions = {}): Promise<RelayProcess> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'caliop-relay-test-'));
  let inviteTokensFile: string | undefined;
  if (options.inviteTokens) {
    inviteTokensFile = join(dataDir, 'invites.txt');
    writeFileSync(inviteTokensFile, `${options.inviteTokens.join('\n')}\n`);
  }
  const usesPostgres = (options.store ?? TEST_STORE) === 'postgres';
  const storeArgs = usesPostgres ? ['--store', await ensureDatabase(databaseNameFor(dataDir))] : [];
  const relay = await startRelay({
    dataDir,
    domain: options.domain ?? 'example.test',
    mainFile: RELAY_MAIN,
    // A loaded CI machine (or a test's own busy loops) can take long to start Node:
    // wait for the ready line, generously, rather than fail.
    readyTimeoutMs: 90_000,
    ...(options.transport === undefined ? {} : { transport: options.transport }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(inviteTokensFile === undefined ? {} : { inviteTokensFile }),
    extraArgs: [...storeArgs, ...(options.extraArgs ?? [])],
  }).catch((error: unknown) => {
    if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });
  return {
    ...relay,
    async dispose() {
      await relay.stop();
      if (ownsDataDir) {
        rmSync(dataDir, { recursive: true, force: true });
        if (usesPostgres) await dropDatabase(databaseNameFor(dataDir));
      }
    },
  };
}
