// RelayClient against relays that misbehave at the network level: a peer that
// accepts TCP and then says nothing must give relay_unreachable after timeoutMs,
// and must not keep a short-lived `caliop` process alive afterwards.

import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

const CLIENT_JS = resolve(dirname(fileURLToPath(import.meta.url)), '../../build/src/edges/relay-client.js');

let silent: Server;
const sockets: Socket[] = [];
let port: number;

beforeAll(async () => {
  silent = createServer((socket) => sockets.push(socket)); // accepts, never answers
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  port = (silent.address() as { port: number }).port;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((r) => silent.close(r));
});

// No wall-clock bound on the whole process (start-up under load says nothing): the
// child measures its own request, and the assertions compare that with the
// client's timeout. A process that does not exit by itself is killed, which the
// exit code shows (null, not 0).
function runClient(url: string, pin: string | null, timeoutMs = 500): Promise<{ code: number | null; stdout: string; ms: number }> {
  const script = `
    const { RelayClient } = await import(${JSON.stringify(CLIENT_JS)});
    const client = new RelayClient({ url: ${JSON.stringify(url)}, pin: ${pin === null ? 'undefined' : JSON.stringify(pin)}, deviceSecretKey: new Uint8Array(32).fill(5), domain: 'example.test', timeoutMs: ${timeoutMs} });
    const started = performance.now();
    let outcome;
    try { await client.list(); outcome = 'answered'; } catch (e) { outcome = e.code; }
    console.log(JSON.stringify({ outcome, ms: performance.now() - started }));
  `;
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('exit', (code) => {
      clearTimeout(killer);
      let parsed = { outcome: stdout.trim(), ms: Number.NaN };
      try {
        parsed = JSON.parse(stdout) as typeof parsed;
      } catch {
        // left as the raw output: the assertion on stdout shows it
      }
      resolveRun({ code, stdout: parsed.outcome, ms: parsed.ms });
    });
  });
}

for (const [name, pin] of [
  ['pinned (TLS handshake never completes)', `sha256/${Buffer.alloc(32).toString('base64')}`],
  ['unpinned https', null],
] as const) {
  it(`silent_relay, ${name}: relay_unreachable after the timeout, and the process exits`, async () => {
    const result = await runClient(`https://127.0.0.1:${port}`, pin);
    expect(result.stdout).toBe('relay_unreachable');
    expect(result.code).toBe(0); // exited by itself, not killed
    expect(result.ms).toBeGreaterThanOrEqual(500 - 5); // it did wait for the timeout (timer granularity)
  });
}

it('refused_connection: relay_unreachable at once, not after the timeout, and the process exits', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as { port: number }).port;
  await new Promise((r) => closed.close(r));
  for (const pin of [`sha256/${Buffer.alloc(32).toString('base64')}`, null]) {
    const result = await runClient(`https://127.0.0.1:${closedPort}`, pin, 20_000);
    expect(result.stdout).toBe('relay_unreachable');
    expect(result.code).toBe(0);
    expect(result.ms).toBeLessThan(20_000); // answered by the refusal, not by the 20 s timeout
  }
});

it('stale_keepalive_socket: a request on a kept-alive socket that the relay just closed is retried once, with a new nonce', async () => {
  const http = await import('node:http');
  const { RelayClient } = await import('../../src/edges/relay-client.js');
  const requestsPerSocket = new Map<object, number>();
  const nonces: string[] = [];
  const server = http.createServer((req, res) => {
    const count = (requestsPerSocket.get(req.socket) ?? 0) + 1;
    requestsPerSocket.set(req.socket, count);
    nonces.push(String(req.headers['caliop-nonce']));
    if (count === 2) {
      req.socket.destroy(); // as if the idle timeout fired just as the request arrived
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ messages: [], nextCursor: null }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = new RelayClient({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, deviceSecretKey: new Uint8Array(32).fill(9), domain: 'example.test' });
  try {
    await client.list();
    expect(await client.list()).toEqual({ messages: [], nextCursor: null });
    expect(nonces).toHaveLength(3);
    expect(new Set(nonces).size).toBe(3);
  } finally {
    client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
