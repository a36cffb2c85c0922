// Starts caliop-relay as a child process on this machine and waits for its ready
// line (docs/api.md §10). For the demo, the bench and integration tests; the
// caller owns the data folder. Needs the built relay (build/src/relay/main.js).

import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** build/src/relay/main.js, next to this file once compiled. */
export const RELAY_MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.js');

export interface RelayProcess {
  readonly url: string;
  /** `sha256/...`, or undefined with --insecure-http. */
  readonly pin: string | undefined;
  /** The inbound SMTP gateway's address (`--smtp-listen`), or undefined without it. */
  readonly smtp: { readonly host: string; readonly port: number } | undefined;
  readonly domain: string;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** Every line the relay wrote on stderr so far (JSON log lines). */
  readonly stderrLines: string[];
  /** SIGTERM, then waits for the process to exit. The data folder is kept. */
  stop(): Promise<void>;
}

export interface RelayProcessOptions {
  readonly dataDir: string;
  readonly domain: string;
  /** Default 'dev-tls'. */
  readonly transport?: 'dev-tls' | 'insecure-http';
  /** Default 0: a free port. Always on 127.0.0.1. */
  readonly port?: number;
  readonly inviteTokensFile?: string;
  /** More flags, e.g. ['--rate-burst', '3']. */
  readonly extraArgs?: readonly string[];
  /** Default: RELAY_MAIN. */
  readonly mainFile?: string;
  /** Node's own flags before the script, e.g. ['--cpu-prof'] (the bench's profiles). */
  readonly nodeArgs?: readonly string[];
  readonly readyTimeoutMs?: number;
}

export async function startRelayProcess(options: RelayProcessOptions): Promise<RelayProcess> {
  const args = [...(options.nodeArgs ?? []), options.mainFile ?? RELAY_MAIN, '--data', options.dataDir, '--listen', `127.0.0.1:${options.port ?? 0}`, '--domain', options.domain];
  args.push(options.transport === 'insecure-http' ? '--insecure-http' : '--dev-tls');
  if (options.inviteTokensFile !== undefined) args.push('--invite-tokens', options.inviteTokensFile);
  args.push(...(options.extraArgs ?? []));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderrLines: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => stderrLines.push(line));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));

  const ready = await new Promise<string>((resolveReady, rejectReady) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectReady(new Error(`caliop-relay did not start in time: ${stderrLines.join('\n')}`));
    }, options.readyTimeoutMs ?? 20_000);
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
  const match = /^caliop-relay: listening on (\S+)(?: pin (sha256\/\S+))?(?: smtp (?:\[([^\]]+)\]|([^\s:]+)):([0-9]+))?$/.exec(ready);
  if (!match) throw new Error(`unexpected ready line from caliop-relay: ${ready}`);

  return {
    url: match[1] as string,
    pin: match[2],
    smtp: match[5] === undefined ? undefined : { host: (match[3] ?? match[4]) as string, port: Number(match[5]) },
    domain: options.domain,
    dataDir: options.dataDir,
    child,
    stderrLines,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
