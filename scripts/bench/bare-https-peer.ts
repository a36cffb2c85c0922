// The bench's peer for the relay's CPU per cycle (issue 14): a bare node:https server
// with the relay's TLS certificate, doing per request what any server must (TLS,
// read the body, JSON.parse it) and per cycle the same single durable insert + commit
// (better-sqlite3, WAL, synchronous = FULL), then a select for list and fetch and a
// delete. No framework, no signature, no schema, no group commit. The sync path of a stick
// (docs/api.md §8.8-§8.9) too: GET /v1/mailbox, the oldest entries with their bodies in one
// select, and POST /v1/mailbox/ack, one durable delete of every entry up to a cursor.
//
//   node build/scripts/bench/bare-https-peer.js CERT.pem KEY.pem DB.sqlite
// prints "listening PORT" on stdout.

import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';

const [certFile, keyFile, dbFile] = process.argv.slice(2) as [string, string, string];
const db = new Database(dbFile);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec('CREATE TABLE IF NOT EXISTS m (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, owner TEXT NOT NULL, body TEXT NOT NULL)');
const insert = db.prepare('INSERT INTO m (id, owner, body) VALUES (?, ?, ?)');
const list = db.prepare('SELECT id FROM m WHERE owner = ? ORDER BY seq LIMIT 1');
const fetch = db.prepare('SELECT body FROM m WHERE owner = ? AND id = ?');
const remove = db.prepare('DELETE FROM m WHERE owner = ? AND id = ?');
const page = db.prepare('SELECT seq, id, body FROM m WHERE owner = ? ORDER BY seq LIMIT 100');
const removeThrough = db.prepare('DELETE FROM m WHERE owner = ? AND seq <= ?');

const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2' }, (request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const owner = String(request.headers['x-owner'] ?? '');
    const url = request.url ?? '/';
    const send = (status: number, body?: unknown) => {
      const text = body === undefined ? '' : JSON.stringify(body);
      response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      response.end(text);
    };
    if (request.method === 'GET' && url === '/v1/mailbox') {
      const rows = page.all(owner) as { seq: number; id: string; body: string }[];
      send(200, { messages: rows.map((row) => ({ id: row.id, armoredMessage: row.body })), nextCursor: null, through: rows.length === 0 ? null : String(rows.at(-1)!.seq) });
    } else if (request.method === 'POST' && url === '/v1/mailbox/ack') {
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { through: string };
      send(200, { deleted: removeThrough.run(owner, Number(parsed.through)).changes });
    } else if (request.method === 'POST') {
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { armoredMessage: string };
      const id = randomBytes(16).toString('base64url');
      insert.run(id, owner, parsed.armoredMessage);
      send(201, { id });
    } else if (request.method === 'GET' && url === '/v1/messages') {
      send(200, { messages: (list.all(owner) as { id: string }[]).map((row) => ({ id: row.id })) });
    } else if (request.method === 'GET') {
      const row = fetch.get(owner, url.slice('/v1/messages/'.length)) as { body: string } | undefined;
      send(row === undefined ? 404 : 200, { armoredMessage: row?.body });
    } else if (request.method === 'DELETE') {
      remove.run(owner, url.slice('/v1/messages/'.length));
      send(204);
    } else send(404, {});
  });
});
// Its keep-alive clients may wait longer than Node's 5 s while the other sides of a round run:
// an idle socket closed just as a client reuses it was an ECONNRESET that ended the whole bench.
server.keepAliveTimeout = 0;
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
