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

function runClient(url: string, pin: string | null, timeoutMs = 500): Promise<{ code: number | null; stdout: string; ms: number }> {
  const script = `
    const { RelayClient } = await import(${JSON.stringify(CLIENT_JS)});
    const client = new RelayClient({ url: ${JSON.stringify(url)}, pin: ${pin === null ? 'undefined' : JSON.stringify(pin)}, deviceSecretKey: new Uint8Array(32).fill(5), domain: 'example.test', timeoutMs: ${timeoutMs} });
    try { await client.list(); console.log('answered'); } catch (e) { console.log(e.code); }
  `;
  const started = Date.now();
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 8000);
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolveRun({ code, stdout: stdout.trim(), ms: Date.now() - started });
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
    expect(result.code).toBe(0);
    expect(result.ms).toBeLessThan(4000);
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
    expect(result.ms).toBeLessThan(4000);
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
