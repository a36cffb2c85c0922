// Targets of scripts/fuzz/fuzz.ts for what comes from outside the stick's own decoders
// (docs/fuzzing.md): `gateway` (what an SMTP peer's DATA goes through in the relay before the
// 250: mailauth, the header readers, the PGP/MIME finder, and the stick's From display),
// `relay` (a fake relay on loopback answering the client's requests with mutated JSON and
// ciphertext, wrong lengths, drips and endless bodies), `sop` (`caliop sop`'s readers fed
// mutated certificates, keys, signatures and armor: a documented SOP exit code or nothing).
import { createServer, type Server, type ServerResponse } from 'node:http';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface OutsideTarget {
  prepare(folder: string): Promise<void>;
  load(folder: string): Promise<Uint8Array[]>;
  readonly tokens: readonly string[];
  run(input: Uint8Array, random: () => number): Promise<unknown>;
}

const loadSeeds = (folder: string) =>
  readdirSync(join(folder, 'seeds'))
    .sort()
    .map((name) => new Uint8Array(readFileSync(join(folder, 'seeds', name))));

function writeSeeds(folder: string, seeds: Record<string, string | Uint8Array>): void {
  mkdirSync(join(folder, 'seeds'), { recursive: true });
  for (const [name, bytes] of Object.entries(seeds)) writeFileSync(join(folder, 'seeds', name), typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
}

const ARMOR = '-----BEGIN PGP MESSAGE-----\n\nwV4DAAAAAAAAAAASAQdAKx0=\n=abcd\n-----END PGP MESSAGE-----\n';

export function gatewayTarget(mimeSeeds: Record<string, string>): OutsideTarget {
  return {
    async prepare(folder) {
      const head = 'Received: from mail.example.org (mail.example.org [203.0.113.5])\r\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n\tby mx.example.com (Postfix) with ESMTPS id 4Q1x2Y3z4;\r\n\tThu, 26 Nov 2026 10:00:00 +0100 (CET)\r\nDKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=s1; h=from:to:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\nAuthentication-Results: gw.example.test; dkim=pass\r\nFrom: "Ana B" <ana@example.org>\r\nTo: bob@gw.example.test, "C" <c@gw.example.test>\r\nCc: d@gw.example.test\r\nSubject: =?UTF-8?Q?r=C3=A9sum=C3=A9?=\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@example.org>\r\nAutocrypt: addr=ana@example.org; keydata=AAAA\r\nMIME-Version: 1.0\r\n';
      writeSeeds(folder, {
        ...Object.fromEntries(Object.entries(mimeSeeds).map(([name, text]) => [`${name}.eml`, text])),
        'pgp-mime.eml': `${head}Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";\r\n\tboundary="b1"\r\n\r\npreamble\r\n--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--b1\r\nContent-Type: application/octet-stream\r\n\r\n${ARMOR}--b1--\r\n`,
        'inline.eml': `${head}Content-Type: text/plain\r\n\r\n${ARMOR}`,
        'plain.eml': `${head}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nBonjour \xc3\xa0 toi.\r\n`,
      });
    },
    load: async (folder) => loadSeeds(folder),
    tokens: ['\r\n', '\n', '\r', ' ', '\t', '(', ')', ';', '"', '<', '>', '@', '=?utf-8?b?', '?=', '--b1', '--b1--', 'Received: from x by y with ESMTPS (TLSv1.3 cipher=X);', 'Version: 1', 'From: ', 'DKIM-Signature: v=1; d=a; s=b; b=', ARMOR],
    async run(input, random) {
      const { authenticate } = await import('mailauth');
      const { parseHeaderFields, splitHeaderAndBody, headerValue } = await import('../../src/api/mime-fields.js');
      const { findArrivedCiphertext, receivedClaims, outerHeadersOf, removeHeaderFields } = await import('../../src/relay/gateway/inbound-mime.js');
      const { authFactsFromMailauth } = await import('../../src/relay/gateway/smtp-gateway.js');
      const { isEncryptedOpenPgpMessage } = await import('../../src/relay/ciphertext-check.js');
      const { displayMailbox } = await import('../../src/core/mail-content.js');
      const { fitMailbox } = await import('../../src/core/mailbox-fit.js');
      // As accept() in src/relay/gateway/smtp-gateway.ts, in its order; DNS answers "not found".
      const raw = Buffer.from(input);
      const resolver = async (name: string) => {
        throw Object.assign(new Error(`${name}: not found`), { code: 'ENOTFOUND' });
      };
      const auth = authFactsFromMailauth(await authenticate(raw, { ip: '203.0.113.5', helo: 'mail.example.org', sender: random() < 0.5 ? 'ana@example.org' : '', mta: 'gw.example.test', resolver, disableArc: true, disableBimi: true, trustReceived: false }));
      const asText = raw.toString('latin1');
      const fields = parseHeaderFields(splitHeaderAndBody(asText).headerText);
      const claimedFrom = headerValue(fields, 'From') ?? '';
      const claims = [...claimedFrom.matchAll(/@([A-Za-z0-9.-]+)/g)].length;
      const ciphertext = findArrivedCiphertext(asText);
      const encrypted = ciphertext !== null && (await isEncryptedOpenPgpMessage(ciphertext.armoredMessage));
      const hops = receivedClaims(fields);
      const outer = outerHeadersOf(fields);
      const cleaned = removeHeaderFields(asText, (field) => field.name.toLowerCase() === 'authentication-results' && field.value.split(/[;\s]/, 1)[0]?.toLowerCase() === 'gw.example.test');
      // The stick shows the From it is given (src/service/mailbox-view.ts, the inbox).
      const shown = fitMailbox(displayMailbox(claimedFrom), 28);
      return { auth, claims, encrypted, hops: hops.length, outer, cleaned: cleaned.length, shown };
    },
  };
}

/** The relay's answers the client reads (docs/api.md §6.1, §8.3, §8.5, §8.5.1, §8.8). */
function relaySeeds(): Record<string, string> {
  const id = 'AAAAAAAAAAAAAAAAAAAAAA';
  const facts = { route: 'api', receivedAt: '2026-12-01T10:00:00.000Z', senderAuthenticated: true };
  const summary = { id, from: 'ana@example.org', to: ['bob@example.org'], size: ARMOR.length, facts };
  return {
    'info.json': JSON.stringify({ domain: 'example.org', version: '1', limits: { rateBurst: 60, ratePerMinute: 600, maxMessageBytes: 50331648, maxRecipients: 100 } }),
    'list.json': JSON.stringify({ messages: [summary, { ...summary, id: 'BBBBBBBBBBBBBBBBBBBBBB' }], nextCursor: 'c1' }),
    'page.json': JSON.stringify({ messages: [{ ...summary, armoredMessage: ARMOR }, { ...summary, id: 'BBBBBBBBBBBBBBBBBBBBBB', size: 70000 }], nextCursor: null, through: 'c2' }),
    'fetch.json': JSON.stringify({ ...summary, armoredMessage: ARMOR }),
    'error.json': JSON.stringify({ error: { code: 'device_revoked', message: 'revoked' } }),
    'ciphertext.bin': ARMOR,
  };
}

/**
 * Each case: one request of the client (info, list, mailbox page, fetch, the ciphertext of a
 * page entry) to a loopback server that answers the mutated input with a status, a framing
 * (exact length, a smaller or larger Content-Length, chunked, a drip, an endless body, a
 * connection cut) chosen by the case. Only the client's answer is judged: a result or a
 * CaliopError of the table, in bounded time and memory.
 */
export function relayTarget(): OutsideTarget {
  let server: Server | undefined;
  let port = 0;
  let answer: (response: ServerResponse) => void = () => undefined;
  const live = new Set<ServerResponse>();
  return {
    async prepare(folder) {
      writeSeeds(folder, relaySeeds());
    },
    async load(folder) {
      server = createServer((_request, response) => {
        live.add(response);
        response.on('close', () => live.delete(response));
        answer(response);
      });
      server.keepAliveTimeout = 1;
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
      return loadSeeds(folder);
    },
    tokens: ['{', '}', '[', ']', '"', ',', ':', 'null', '1e308', '-1', '9007199254740993', '"armoredMessage":"', '"size":', '[[[[[[[[[[', '\\u0000', '\\ud800'],
    async run(input, random) {
      const { RelayClient } = await import('../../src/edges/relay-client.js');
      const pick = (n: number) => Math.floor(random() * n);
      const status = [200, 200, 200, 200, 204, 400, 401, 404, 413, 429, 500, 302, 200 + pick(400)][pick(13)]!;
      const framing = ['exact', 'exact', 'short', 'long', 'chunked', 'drip', 'endless', 'cut', 'none'][pick(9)]!;
      const request = ['info', 'list', 'page', 'fetch', 'ciphertext'][pick(5)]!;
      const ciphertextSize = random() < 0.5 ? input.length : pick(2 ** 20);
      answer = (response) => {
        const body = Buffer.from(input);
        const type = request === 'ciphertext' ? 'application/octet-stream' : 'application/json';
        const headers: Record<string, string> = { 'content-type': type };
        if (status === 429 && random() < 0.5) headers['retry-after'] = String(pick(3));
        const write = (chunk: Buffer) => (response.destroyed ? false : response.write(chunk));
        if (framing === 'exact' || framing === 'cut' || framing === 'short' || framing === 'long') {
          const length = framing === 'short' ? Math.max(0, body.length - 1 - pick(body.length + 1)) : framing === 'long' ? body.length + 1 + pick(2 ** 20) : body.length;
          response.writeHead(status, { ...headers, 'content-length': String(length) });
          if (framing === 'cut') {
            write(body.subarray(0, pick(body.length + 1)));
            response.socket?.destroy();
          } else if (framing === 'long') {
            write(body);
            setTimeout(() => response.socket?.destroy(), pick(200));
          } else response.end(body.subarray(0, length));
        } else if (framing === 'chunked' || framing === 'none') {
          response.writeHead(status, headers);
          response.end(body);
        } else if (framing === 'drip') {
          response.writeHead(status, headers);
          let at = 0;
          const step = () => {
            if (response.destroyed) return;
            if (at >= body.length) return void response.end();
            write(body.subarray(at, at + 1 + pick(64)));
            at += 65;
            setTimeout(step, pick(3));
          };
          step();
        } else if (status === 204 || status === 304) {
          // No body exists for these (RFC 9110 §15.3.5, §15.4.5): node's server drops every write
          // and answers true, so the filler loop below would never yield (found: case 22:148,
          // this process out of memory, the client never reached).
          response.writeHead(status, headers);
          response.end();
        } else {
          // endless: the body, then filler until the client stops reading.
          response.writeHead(status, headers);
          write(body);
          const filler = Buffer.alloc(64 * 1024, random() < 0.5 ? 0x20 : 0x5b);
          const more = () => {
            while (!response.destroyed && write(filler));
            if (!response.destroyed) response.once('drain', more);
          };
          more();
        }
      };
      const client = new RelayClient({ url: `http://127.0.0.1:${port}`, deviceSecretKey: new Uint8Array(32).fill(7), domain: 'example.org', timeoutMs: 10_000 });
      try {
        if (request === 'info') return await client.info();
        if (request === 'list') return await client.list();
        if (request === 'page') return await client.mailboxPage();
        if (request === 'fetch') return await client.fetch('AAAAAAAAAAAAAAAAAAAAAA');
        return await client.fetchCiphertext('AAAAAAAAAAAAAAAAAAAAAA', ciphertextSize, async (chunks) => {
          let total = 0;
          for await (const chunk of chunks) total += chunk.byteLength;
          return total;
        });
      } finally {
        client.close();
        for (const response of live) response.destroy();
      }
    },
  };
}

/** `caliop sop` (src/service/sop.ts) on mutated certificates, keys, signatures and messages. */
export function sopTarget(fixtures: string): OutsideTarget {
  let key: Uint8Array = new Uint8Array(0);
  return {
    async prepare(folder) {
      const openpgp = await import('openpgp');
      const { privateKey, publicKey } = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ email: 'sop@example.org' }], format: 'object' });
      const message = await openpgp.createMessage({ text: 'hello sop\n' });
      const seeds: Record<string, string | Uint8Array> = {
        'key.asc': privateKey.armor(),
        'key.bin': privateKey.write(),
        'cert.asc': publicKey.armor(),
        'sig.asc': await openpgp.sign({ message, signingKeys: privateKey, detached: true }),
        'inline.asc': await openpgp.sign({ message, signingKeys: privateKey }),
        'clear.asc': await openpgp.sign({ message: await openpgp.createCleartextMessage({ text: 'hello sop' }), signingKeys: privateKey }),
        'enc.asc': await openpgp.encrypt({ message, encryptionKeys: publicKey, signingKeys: privateKey }),
      };
      for (const name of readdirSync(fixtures)) if (name.endsWith('.cert.asc')) seeds[name] = readFileSync(join(fixtures, name));
      writeSeeds(folder, seeds);
    },
    async load(folder) {
      key = new Uint8Array(readFileSync(join(folder, 'seeds', 'key.asc')));
      return loadSeeds(folder);
    },
    tokens: ['-----BEGIN PGP MESSAGE-----\n', '-----END PGP MESSAGE-----\n', '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n', '-----BEGIN PGP SIGNATURE-----\n', '-----BEGIN PGP PRIVATE KEY BLOCK-----\n', '\n=', '\r\n', '- -'],
    async run(input, random) {
      const sop = await import('../../src/service/sop.js');
      const pick = (n: number) => Math.floor(random() * n);
      const operation = ['extract-cert', 'dearmor', 'armor', 'inline-detach', 'verify', 'inline-verify', 'decrypt', 'certs', 'keys', 'revoke-key', 'change-key-password'][pick(11)]!;
      try {
        if (operation === 'extract-cert') return await sop.extractCert(input, random() < 0.5);
        if (operation === 'dearmor') return await sop.dearmor(input);
        if (operation === 'armor') return await sop.armor(input);
        if (operation === 'inline-detach') return await sop.inlineDetach(input, random() < 0.5);
        if (operation === 'certs') return await sop.readCertList([input]);
        if (operation === 'keys') return await sop.unlockKeys([input], ['x']);
        if (operation === 'revoke-key') return await sop.revokeKey(input, [], true);
        if (operation === 'change-key-password') return await sop.changeKeyPassword(input, [], 'new', true);
        const certs = await sop.readCertList([input]).catch(() => []);
        if (operation === 'verify') return await sop.verifySignatures(new TextEncoder().encode('hello sop\n'), certs, { detached: input });
        if (operation === 'inline-verify') return await sop.verifySignatures(input, certs, {});
        return await sop.decrypt({ data: input, keys: await sop.unlockKeys([key], []), passwords: ['x'], verifyWith: certs });
      } catch (error) {
        // docs/sop.md §3: every failure is one of the draft's exit codes; a TypeError, RangeError
        // or the like under it is a bug (a stack trace with --debug, a wrong code without).
        const failure = sop.asSopError(error);
        if (!Object.values(sop.SOP_EXIT).includes(failure.exitCode as never)) throw error;
        const cause = error instanceof sop.SopError ? (error.cause ?? error) : error;
        if (cause instanceof TypeError || cause instanceof RangeError || cause instanceof ReferenceError || cause instanceof SyntaxError) throw cause;
        return { sop: failure.exitName };
      }
    },
  };
}
