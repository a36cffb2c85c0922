// Starts the real caliop-relay (build/src/relay/main.js, so run `npx tsc -p .` or
// `npm test` first) on loopback with a temporary data folder. For the relay tests
// and for integration tests of other parts (send, sync).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const RELAY_MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../build/src/relay/main.js');

export interface RelayProcess {
  readonly url: string;
  /** `sha256/...`, or undefined with --insecure-http. */
  readonly pin: string | undefined;
  readonly domain: string;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** Every line the relay wrote on stderr so far. */
  readonly stderrLines: string[];
  /** Stops the relay (SIGTERM) and waits for it to exit; keeps the data folder. */
  stop(): Promise<void>;
  /** stop() then removes the data folder if this helper made it. */
  dispose(): Promise<void>;
}

export interface StartRelayOptions {
  readonly domain?: string;
  /** Reuse a data folder (e.g. to restart); default: a new one under os.tmpdir(). */
  readonly dataDir?: string;
  /** Write these to a file and pass --invite-tokens. */
  readonly inviteTokens?: readonly string[];
  /** More flags, e.g. ['--rate-burst', '3']. */
  readonly extraArgs?: readonly string[];
  /** 'dev-tls' (default) or 'insecure-http'. */
  readonly transport?: 'dev-tls' | 'insecure-http';
  readonly port?: number;
}

export async function startRelayProcess(options: StartRelayOptions = {}): Promise<RelayProcess> {
  const domain = options.domain ?? 'example.test';
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'caliop-relay-test-'));
  const args = [RELAY_MAIN, '--data', dataDir, '--listen', `127.0.0.1:${options.port ?? 0}`, '--domain', domain];
  args.push(options.transport === 'insecure-http' ? '--insecure-http' : '--dev-tls');
  if (options.inviteTokens) {
    const file = join(dataDir, 'invites.txt');
    writeFileSync(file, `${options.inviteTokens.join('\n')}\n`);
    args.push('--invite-tokens', file);
  }
  args.push(...(options.extraArgs ?? []));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderrLines: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => stderrLines.push(line));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));

  const ready = await new Promise<string>((resolveReady, rejectReady) => {
    const timer = setTimeout(() => rejectReady(new Error(`caliop-relay did not start: ${stderrLines.join('\n')}`)), 20_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('caliop-relay: listening on ')) {
        clearTimeout(timer);
        resolveReady(line);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rejectReady(new Error(`caliop-relay exited with ${code}: ${stderrLines.join('\n')}`));
    });
  });
  const match = /^caliop-relay: listening on (\S+)(?: pin (sha256\/\S+))?$/.exec(ready);
  if (!match) throw new Error(`unexpected ready line: ${ready}`);

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return {
    url: match[1] as string,
    pin: match[2],
    domain,
    dataDir,
    child,
    stderrLines,
    stop,
    async dispose() {
      await stop();
      if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
