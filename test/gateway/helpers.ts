// Real peers for the gateway's tests: a throw-away GnuPG home, swaks, DKIM keys
// published in a --dns-records file. Everything lives under os.tmpdir() and is
// removed by the caller's dispose().

import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { SMTPServer } from 'smtp-server';
import { join } from 'node:path';

export interface Scratch {
  readonly path: string;
  dispose(): void;
}

export function scratchDir(prefix: string): Scratch {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, dispose: () => rmSync(path, { recursive: true, force: true }) };
}

/** gpg with its own home under `dir`; throws with gpg's stderr when it fails. */
export function makeGpg(dir: string): { run(args: string[], input?: string | Buffer): Buffer; home: string; kill(): void } {
  const home = join(dir, 'gnupg');
  spawnSync('mkdir', ['-m', '700', '-p', home]);
  return {
    home,
    run(args, input) {
      const result = spawnSync('gpg', ['--homedir', home, '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', '--trust-model', 'always', ...args], {
        input,
        env: { ...process.env, HOME: dir },
        maxBuffer: 64 * 1024 * 1024,
      });
      if (result.status !== 0) throw new Error(`gpg ${args.join(' ')} failed: ${result.stderr.toString()}`);
      return result.stdout;
    },
    kill() {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
    },
  };
}

export interface SwaksResult {
  readonly status: number | null;
  readonly output: string;
}

/** Runs the real swaks, asynchronously (an SMTP peer may live in this very process). Its transcript, stdout and stderr. */
export function swaks(args: string[]): Promise<SwaksResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('swaks', ['--timeout', '20', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (status) => resolve({ status, output }));
  });
}

const require = createRequire(import.meta.url);
// mailauth 4.9.5 ships no types: the signing helper's shape as the test uses it.
const { dkimSign } = require('mailauth/lib/dkim/sign') as {
  dkimSign(
    input: string | Buffer,
    options: { canonicalization?: string; signTime?: Date; signatureData: { signingDomain: string; selector: string; privateKey: string }[] },
  ): Promise<{ signatures: string; errors: unknown[] }>;
};

/** A throw-away RSA-2048 DKIM key: the private PEM and the TXT record that publishes it. */
export function makeDkimKey(): { privateKeyPem: string; txtRecord: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), txtRecord: `v=DKIM1; k=rsa; p=${der.toString('base64')}` };
}

/** The message with a DKIM-Signature header on top (relaxed/relaxed, rsa-sha256), made by mailauth's dkimSign. */
export async function signDkim(message: string, key: { privateKeyPem: string }, signingDomain: string, selector: string): Promise<string> {
  // signTime given: without it mailauth 4.9.5 signs one t= and writes another across a
  // second boundary (src/relay/gateway/dkim.ts says more).
  const result = await dkimSign(message, { canonicalization: 'relaxed/relaxed', signTime: new Date(), signatureData: [{ signingDomain, selector, privateKey: key.privateKeyPem }] });
  if (result.errors.length > 0) throw new Error(`dkimSign: ${JSON.stringify(result.errors)}`);
  return result.signatures + message;
}

export function writeJson(path: string, value: unknown): string {
  writeFileSync(path, JSON.stringify(value, null, 2));
  return path;
}

/** A minimal RFC 5322 message with CRLF line ends. */
export function rfc5322(headers: Record<string, string>, body: string): string {
  return `${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n')}\r\n\r\n${body.replace(/\r?\n/g, '\r\n')}`;
}

/** A TXT record's strings as DNS gives them: longer than 255 bytes, they are split. */
export const txt = (text: string): string[][] => [text.match(/.{1,255}/g) ?? []];

/** One message a sink received. */
export interface SinkDelivery {
  readonly from: string;
  readonly to: string[];
  readonly raw: string;
  readonly secure: boolean;
}

export interface Sink {
  readonly port: number;
  readonly received: SinkDelivery[];
  close(): Promise<void>;
}

/**
 * A real SMTP server on loopback standing for a smarthost; STARTTLS when given a
 * certificate. `refuse` names recipients it answers 550 for (a mailbox that does not exist).
 */
export async function startSink(tls: { cert: string; key: string } | null, refuse: (address: string) => boolean = () => false): Promise<Sink> {
  const received: SinkDelivery[] = [];
  const server = new SMTPServer({
    onRcptTo(address, _session, callback) {
      if (refuse(address.address.toLowerCase())) callback(Object.assign(new Error('5.1.1 <' + address.address + '>: Recipient address rejected: User unknown'), { responseCode: 550 }));
      else callback();
    },
    authOptional: true,
    disabledCommands: tls === null ? ['AUTH', 'STARTTLS'] : ['AUTH'],
    ...(tls === null ? {} : { cert: tls.cert, key: tls.key }),
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          secure: session.secure,
        });
        callback(null, 'Ok: queued as TEST');
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('no sink address');
  return { port: address.port, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
