// A minimal SMTP client (RFC 5321) over a plain loopback socket, for tests that must
// control every byte and every pause: hostile senders, idle connections.
import { connect, type Socket } from 'node:net';

export interface SmtpConversation {
  readonly socket: Socket;
  /** Resolves when the server closed the connection. */
  readonly closed: Promise<void>;
  /** The next complete reply (multi-line replies joined), e.g. "250 OK". */
  reply(): Promise<string>;
  /** Sends one command line and waits for its reply. */
  command(line: string): Promise<string>;
  close(): void;
}

export function openSmtp(port: number, localAddress?: string): Promise<SmtpConversation> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ...(localAddress ? { localAddress } : {}) });
    let buffer = '';
    const waiting: Array<(reply: string) => void> = [];
    const ready: string[] = [];
    let closed = false;
    const deliver = () => {
      for (;;) {
        const match = /^(\d{3}) .*\r?\n/m.exec(buffer);
        if (!match) return;
        const end = match.index + match[0].length;
        const replyText = buffer.slice(0, end).trimEnd();
        buffer = buffer.slice(end);
        const waiter = waiting.shift();
        if (waiter) waiter(replyText);
        else ready.push(replyText);
      }
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      deliver();
    });
    let markClosed: () => void = () => undefined;
    const closedPromise = new Promise<void>((done) => (markClosed = done));
    socket.on('close', () => {
      markClosed();
      closed = true;
      for (const waiter of waiting.splice(0)) waiter('(closed)');
    });
    socket.on('error', (error) => {
      if (!closed) reject(error);
    });
    const conversation: SmtpConversation = {
      socket,
      closed: closedPromise,
      reply: () => (ready.length > 0 ? Promise.resolve(ready.shift()!) : closed ? Promise.resolve('(closed)') : new Promise((done) => waiting.push(done))),
      command(line: string) {
        socket.write(`${line}\r\n`);
        return conversation.reply();
      },
      close: () => socket.destroy(),
    };
    socket.once('connect', () => resolve(conversation));
  });
}

/** One whole delivery; returns the reply to the end of DATA. */
export async function deliverSmtp(port: number, options: { from: string; to: string; message: string; helo?: string }): Promise<string> {
  const smtp = await openSmtp(port);
  try {
    const greeting = await smtp.reply();
    if (!greeting.startsWith('220')) return greeting;
    await smtp.command(`EHLO ${options.helo ?? 'sender.test'}`);
    const mailFrom = await smtp.command(`MAIL FROM:<${options.from}>`);
    if (!mailFrom.startsWith('250')) return mailFrom;
    const rcpt = await smtp.command(`RCPT TO:<${options.to}>`);
    if (!rcpt.startsWith('250')) return rcpt;
    const data = await smtp.command('DATA');
    if (!data.startsWith('354')) return data;
    const body = options.message.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    smtp.socket.write(`${body}${body.endsWith('\r\n') ? '' : '\r\n'}.\r\n`);
    const accepted = await smtp.reply();
    await smtp.command('QUIT');
    return accepted;
  } finally {
    smtp.close();
  }
}
