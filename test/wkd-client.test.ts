// The WKD client against the real relay's Web Key Directory over verified TLS.
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lookupWkd, wkdUrls } from '../src/edges/wkd-client.js';
import { initEnrolled, onStick, temporaryFolder, type InitResult } from './helpers/caliop.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const scratch = temporaryFolder('wkd');
let relay: RelayProcess;
let alice: InitResult;

beforeAll(async () => {
  relay = await startRelayProcess({ domain: 'caliop.example', dataDir: join(scratch.path, 'relay') });
  const stick = join(scratch.path, 'alice');
  mkdirSync(stick);
  alice = await initEnrolled(stick, 'Alice', 'alice@caliop.example', relay);
});

afterAll(async () => {
  await relay?.stop();
  scratch.remove();
});

describe('lookupWkd', () => {
  it('builds the advanced then the direct URL of the draft', () => {
    expect(wkdUrls({ local: 'Joe.Doe', domain: 'example.org', hash: 'iy9q119eutrkn8s1mk4r39qejnbu3n5q' })).toEqual([
      'https://openpgpkey.example.org/.well-known/openpgpkey/example.org/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe',
      'https://example.org/.well-known/openpgpkey/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe',
    ]);
  });

  it('finds a Caliop user published by the relay (direct method), checking TLS against the relay certificate', async () => {
    const ca = readFileSync(join(relay.dataDir, 'dev-tls-cert.pem'), 'utf8');
    const base = relay.url;
    const urlsFor = ({ local, domain, hash }: { local: string; domain: string; hash: string }) => [
      `${base}/.well-known/openpgpkey/${domain}/hu/${hash}?l=${local}`,
      `${base}/.well-known/openpgpkey/hu/${hash}?l=${local}`,
    ];
    const found = await lookupWkd('alice@caliop.example', { ca, urlsFor });
    expect(found).not.toBeNull();
    const key = await openpgp.readKey({ binaryKey: found!.cert as Uint8Array<ArrayBuffer> });
    expect(key.getFingerprint().toUpperCase()).toBe(alice.fingerprint);
    expect(await lookupWkd('nobody@caliop.example', { ca, urlsFor })).toBeNull();
    // Without the relay's CA the self-signed certificate is refused: no cert, not a crash.
    expect(await lookupWkd('alice@caliop.example', { urlsFor })).toBeNull();
  });

  it('an answer over 1 MiB is dropped, not gathered: no cert, not a crash (a hostile server)', async () => {
    const ca = readFileSync(join(relay.dataDir, 'dev-tls-cert.pem'), 'utf8');
    const key = readFileSync(join(relay.dataDir, 'dev-tls-key.pem'), 'utf8');
    let sent = 0;
    const server = createServer({ cert: ca, key }, (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      const block = Buffer.alloc(64 * 1024, 0x99);
      // Writes until the client closes (at most 64 MiB), as a server that never ends would.
      const more = () => {
        while (sent < 64 * 1024 * 1024 && !response.destroyed) {
          sent += block.length;
          if (!response.write(block)) return void response.once('drain', more);
        }
        response.end();
      };
      more();
      response.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const url = new URL(relay.url);
    const base = `https://${url.hostname}:${port}`;
    try {
      const found = await lookupWkd('alice@caliop.example', { ca, urlsFor: ({ hash }) => [`${base}/.well-known/openpgpkey/hu/${hash}`] });
      expect(found).toBeNull();
      expect(sent).toBeLessThan(32 * 1024 * 1024); // the client hung up long before the end
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
