// --dev-tls (docs/api.md §10, docs/decisions/relay.md): the printed pin is the
// SHA-256 of the certificate's SubjectPublicKeyInfo (checked with openssl), and
// the certificate is kept across restarts.

import { execSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startRelayProcess, type RelayProcess } from './helpers/relay-process.js';
import { enrolled } from './helpers/test-identity.js';

const started: RelayProcess[] = [];
afterAll(async () => {
  for (const relay of started) await relay.dispose();
  for (const relay of started) rmSync(relay.dataDir, { recursive: true, force: true });
});

it('prints the SPKI pin that openssl computes, and keeps the certificate on restart', async () => {
  const first = await startRelayProcess();
  started.push(first);
  const certFile = join(first.dataDir, 'dev-tls-cert.pem');
  const opensslPin = execSync(`openssl x509 -in '${certFile}' -noout -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`)
    .toString()
    .trim();
  expect(first.pin).toBe(`sha256/${opensslPin}`);
  expect(statSync(join(first.dataDir, 'dev-tls-key.pem')).mode & 0o077).toBe(0);
  await first.stop();
  const second = await startRelayProcess({ dataDir: first.dataDir });
  started.push(second);
  expect(second.pin).toBe(first.pin);
  expect(second.url).toMatch(/^https:\/\/127\.0\.0\.1:[0-9]+$/);
});

it('--insecure-http: plain HTTP on loopback, and the facts say there was no TLS', async () => {
  const relay = await startRelayProcess({ transport: 'insecure-http' });
  started.push(relay);
  expect(relay.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
  expect(relay.pin).toBeUndefined();
  const [alice, bob] = await Promise.all([enrolled(relay, 'alice'), enrolled(relay, 'bob')]);
  const { encryptTo } = await import('./helpers/test-identity.js');
  await alice.client.submit({ to: [bob.identity.address], armoredMessage: await encryptTo('hi', [bob.identity]) });
  const [message] = (await bob.client.list()).messages;
  expect(message!.facts.route === 'internal' ? message!.facts.transport : message!.facts).toEqual({ protocol: 'http', tlsVersion: null, cipher: null });
  alice.client.close();
  bob.client.close();
});

it('replay_after_restart: the relay remembers nonces across a restart', async () => {
  const { rawRequest, signedHeaders } = await import('./helpers/raw-request.js');
  const relay = await startRelayProcess();
  started.push(relay);
  const { identity, client } = await enrolled(relay, 'alice');
  client.close();
  const path = '/v1/messages';
  const headers = signedHeaders(identity.deviceSecretKey, relay.domain, { method: 'GET', path });
  expect((await rawRequest(relay.url, { method: 'GET', path, headers })).status).toBe(200);
  await relay.stop();
  const again = await startRelayProcess({ dataDir: relay.dataDir });
  started.push(again);
  const replay = await rawRequest(again.url, { method: 'GET', path, headers });
  expect([replay.status, (replay.json as { error: { code: string } }).error.code]).toEqual([401, 'replayed_nonce']);
});
