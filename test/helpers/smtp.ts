// SMTP peers for tests: the real swaks delivering to the relay's gateway, and a real
// SMTP server on loopback standing for a smarthost (what the relay delivers outside).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';

export interface SwaksResult {
  readonly status: number | null;
  readonly output: string;
}

/** swaks' wait for each SMTP reply, in seconds. */
const SWAKS_REPLY_TIMEOUT_S = 240;

/** Runs the real swaks, asynchronously (an SMTP peer may live in this very process). Its transcript, stdout and stderr. */
export function swaks(args: string[]): Promise<SwaksResult> {
  return new Promise((resolve, reject) => {
    // swaks' --timeout is per SMTP reply: a hang guard, not a measure. 20 s was too short for a
    // relay that seals a message with attachments at load 30 (issue 16: cli-real-mail's beforeAll failed).
    const child = spawn('swaks', ['--timeout', String(SWAKS_REPLY_TIMEOUT_S), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (status) => resolve({ status, output }));
  });
}

export interface SwaksDelivery {
  /** The gateway's SMTP port on 127.0.0.1. */
  readonly port: number;
  readonly from: string;
  readonly to: string | readonly string[];
  /** Default: mail.DOMAIN-OF-FROM. */
  readonly helo?: string;
  /** STARTTLS (swaks --tls). */
  readonly tls?: boolean;
  /** The message: a file's path, or its text (written to a new file in `folder`). */
  readonly file?: string;
  readonly message?: string;
  readonly folder?: string;
}

/** One message delivered by swaks; the transcript says how the server answered (`<- 250`, `<~ 250` over TLS). */
export function deliverBySwaks(delivery: SwaksDelivery): Promise<SwaksResult> {
  let file = delivery.file;
  if (file === undefined) {
    if (delivery.message === undefined || delivery.folder === undefined) throw new Error('deliverBySwaks: give a file, or a message and a folder');
    file = join(delivery.folder, `message-${randomBytes(4).toString('hex')}.eml`);
    writeFileSync(file, delivery.message);
  }
  const to = typeof delivery.to === 'string' ? delivery.to : delivery.to.join(',');
  return swaks([
    '--server', `127.0.0.1:${delivery.port}`,
    '--from', delivery.from,
    '--helo', delivery.helo ?? `mail.${delivery.from.split('@')[1]}`,
    '--to', to,
    '--data', file,
    ...(delivery.tls ? ['--tls'] : []),
  ]);
}

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
