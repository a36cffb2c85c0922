// Issue 14, design of relay sessions (docs/decisions/relay-sessions.md, draft): the relay's
// per-request auth step today (Ed25519 verify by node:crypto, keys cached, over §4.2's string
// with its body digest) against the same step with an HMAC-SHA256 over the same string, the
// session's key cached as a KeyObject, compared by crypto.timingSafeEqual. In-process, CPU
// time (process.cpuUsage), interleaved rounds A, B, C, D …, medians. The nonce check (the
// same in both schemes) is measured beside them on a SQLite file store, 32 requests per turn
// as under the bench's 32 clients. Not part of `npm run bench`: after `npm run -s build`,
// `nice -n 15 node build/scripts/bench/session-mac.js` (ROUNDS, CYCLES in the environment);
// figures in docs/benchmarks.md (2026-12-01, "relay sessions").
import { createHmac, createSecretKey, generateKeyPairSync, randomBytes, sign, timingSafeEqual, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBase64url, toBase64url } from '../../src/api/base64url.js';
import { canonicalRequestString, signRequest, verifyRequestSignature, type RequestToSign } from '../../src/api/request-signing.js';
import { opensslEd25519Verify, opensslSha256Hex } from '../../src/relay/ed25519-verify.js';
import { SqliteRelayStore } from '../../src/relay/store/sqlite-store.js';

const ROUNDS = Number(process.env.ROUNDS ?? 31);
const CYCLES = Number(process.env.CYCLES ?? 250);
const DOMAIN = 'bench.example';
const BODY = new Uint8Array(5_800).fill(65);
const EMPTY = new Uint8Array(0);
/** The bench's cycle: submit (a 5.8 KB body), list, fetch, delete. */
const CYCLE: readonly RequestToSign[] = [
  { method: 'POST', pathWithQuery: '/v1/messages', body: BODY, domain: DOMAIN },
  { method: 'GET', pathWithQuery: '/v1/messages?after=41&limit=100', body: EMPTY, domain: DOMAIN },
  { method: 'GET', pathWithQuery: '/v1/messages/AAAAAAAAAAAAAAAAAAAAAA', body: EMPTY, domain: DOMAIN },
  { method: 'DELETE', pathWithQuery: '/v1/messages/AAAAAAAAAAAAAAAAAAAAAA', body: EMPTY, domain: DOMAIN },
];

const { privateKey } = generateKeyPairSync('ed25519');
const jwk = privateKey.export({ format: 'jwk' }) as { d: string; x: string };
const secret = fromBase64url(jwk.d)!;
const publicKey = fromBase64url(jwk.x)!;
const signer = privateKey;
const now = new Date();

// The session: an id and a 32-byte key; the relay's per-process cache of keys by id.
const sessionId = toBase64url(randomBytes(16));
const sessionKeyBytes = randomBytes(32);
const sessionKeys = new Map<string, KeyObject>([[sessionId, createSecretKey(sessionKeyBytes)]]);
const SESSION_HEADER = /^CaliopSession id=([A-Za-z0-9_-]{22}), mac=([A-Za-z0-9_-]{43})$/;

interface Prepared { readonly request: RequestToSign; readonly headers: Record<string, string> }

function prepare(count: number): { signed: Prepared[]; maced: Prepared[] } {
  const signed: Prepared[] = [];
  const maced: Prepared[] = [];
  for (let i = 0; i < count; i += 1) {
    for (const request of CYCLE) {
      const nonce = toBase64url(randomBytes(16));
      signed.push({ request, headers: signRequest(request, secret, now, nonce, publicKey, (m) => sign(null, m, signer), opensslSha256Hex) });
      const timestamp = String(Math.floor(now.getTime() / 1000));
      // The same seven lines, first line the session scheme's label (docs/api.md §4.7, draft).
      const text = canonicalRequestString(request, { timestamp, nonce }, opensslSha256Hex).replace('caliop-request-v1', 'caliop-session-v1');
      const mac = createHmac('sha256', sessionKeyBytes).update(text).digest();
      maced.push({ request, headers: { authorization: `CaliopSession id=${sessionId}, mac=${toBase64url(mac)}`, 'caliop-timestamp': timestamp, 'caliop-nonce': nonce } });
    }
  }
  return { signed, maced };
}

/** Today's step 1-4 (docs/api.md §4.3), as device-auth.ts calls it. */
function checkSigned(p: Prepared): boolean {
  return verifyRequestSignature(p.request, (name) => p.headers[name], now, opensslEd25519Verify, opensslSha256Hex).ok;
}

const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
const TIMESTAMP = /^(?:0|[1-9][0-9]{0,11})$/;
const encoder = new TextEncoder();

/** The session's step 1-4: the same header checks and string, an HMAC instead of the verify. */
function checkMaced(p: Prepared): boolean {
  const header = p.headers.authorization;
  const timestamp = p.headers['caliop-timestamp'];
  const nonce = p.headers['caliop-nonce'];
  if (header === undefined || timestamp === undefined || nonce === undefined) return false;
  const parts = SESSION_HEADER.exec(header);
  if (parts === null) return false;
  const mac = fromBase64url(parts[2]!);
  if (mac === null || mac.length !== 32) return false;
  if (!TIMESTAMP.test(timestamp) || !NONCE.test(nonce)) return false;
  if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > 300) return false;
  const key = sessionKeys.get(parts[1]!);
  if (key === undefined) return false;
  const text = canonicalRequestString(p.request, { timestamp, nonce }, opensslSha256Hex).replace('caliop-request-v1', 'caliop-session-v1');
  const expected = createHmac('sha256', key).update(encoder.encode(text)).digest();
  return timingSafeEqual(expected, mac);
}

/** The HMAC step without the MAC (header checks, session lookup, string): what the MAC itself adds. */
function checkMacedNoMac(p: Prepared): boolean {
  const parts = SESSION_HEADER.exec(p.headers.authorization!);
  if (parts === null || fromBase64url(parts[2]!) === null) return false;
  const timestamp = p.headers['caliop-timestamp']!;
  const nonce = p.headers['caliop-nonce']!;
  if (!TIMESTAMP.test(timestamp) || !NONCE.test(nonce) || sessionKeys.get(parts[1]!) === undefined) return false;
  return encoder.encode(canonicalRequestString(p.request, { timestamp, nonce }, opensslSha256Hex).replace('caliop-request-v1', 'caliop-session-v1')).length > 0;
}

/** The body digest alone (in both schemes). */
function digestOnly(p: Prepared): boolean {
  return (p.request.body as Uint8Array).length >= 0 && opensslSha256Hex(p.request.body as Uint8Array).length === 64;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function cpuMicros(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

async function main(): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'session-mac-'));
  const store = SqliteRelayStore.open(join(folder, 'relay.sqlite'));
  const { signed, maced } = prepare(CYCLES * (ROUNDS + 2));
  // Warm-up: one round each, not counted (JIT).
  let sOff = 0;
  let mOff = 0;
  const per = CYCLES * CYCLE.length;
  const take = (list: Prepared[], offset: number): Prepared[] => list.slice(offset, offset + per);
  const results = { signed: [] as number[], maced: [] as number[], digest: [] as number[], nonce: [] as number[], frame: [] as number[] };
  for (let round = -2; round < ROUNDS; round += 1) {
    const a = take(signed, sOff); sOff += per;
    const b = take(maced, mOff); mOff += per;
    let bad = 0;
    const ta = cpuMicros(() => { for (const p of a) if (!checkSigned(p)) bad += 1; });
    const tb = cpuMicros(() => { for (const p of b) if (!checkMaced(p)) bad += 1; });
    const tc = cpuMicros(() => { for (const p of a) if (!digestOnly(p)) bad += 1; });
    const td = cpuMicros(() => { for (const p of b) if (!checkMacedNoMac(p)) bad += 1; });
    if (bad !== 0) throw new Error(`${bad} checks failed`);
    // The nonce check (docs/api.md §4.3 step 6) through the store, 32 per event-loop turn.
    const startNonce = process.cpuUsage();
    for (let i = 0; i < a.length; i += 32) {
      const batch = a.slice(i, i + 32);
      await Promise.all(batch.map((p) => store.authenticate({ devicePublicKey: publicKey, nonce: `${p.headers['caliop-nonce']}r${round + 2}`, expiresAt: Math.floor(now.getTime() / 1000) + 300, nowSeconds: Math.floor(now.getTime() / 1000), enrolledOnly: false })));
    }
    const usedNonce = process.cpuUsage(startNonce);
    if (round < 0) continue;
    results.signed.push(ta / a.length);
    results.maced.push(tb / b.length);
    results.digest.push(tc / a.length);
    results.frame.push(td / b.length);
    results.nonce.push((usedNonce.user + usedNonce.system) / a.length);
  }
  await store.close();
  rmSync(folder, { recursive: true, force: true });
  const m = { signed: median(results.signed), maced: median(results.maced), digest: median(results.digest), nonce: median(results.nonce), frame: median(results.frame) };
  const q = (v: number[]): string => { const s = [...v].sort((x, y) => x - y); return `${s[Math.floor(s.length / 4)]!.toFixed(1)}-${s[Math.floor((3 * s.length) / 4)]!.toFixed(1)}`; };
  console.log(`rounds ${ROUNDS} x ${per} requests (cycle: 1 x 5.8 KB POST + 3 bodiless), CPU us per request, median (IQR):`);
  console.log(`  Ed25519 check (steps 1-4, body digest incl.): ${m.signed.toFixed(1)} (${q(results.signed)})  per cycle ${(4 * m.signed).toFixed(0)}`);
  console.log(`  HMAC-SHA256 check (same string, cached key):  ${m.maced.toFixed(1)} (${q(results.maced)})  per cycle ${(4 * m.maced).toFixed(0)}`);
  console.log(`  session step without the MAC (frame):        ${m.frame.toFixed(1)} (${q(results.frame)})`);
  console.log(`  body digest alone (in both):                  ${m.digest.toFixed(1)} (${q(results.digest)})`);
  console.log(`  nonce check via SQLite store (in both):       ${m.nonce.toFixed(1)} (${q(results.nonce)})`);
  console.log(`  saved per cycle: ${(4 * (m.signed - m.maced)).toFixed(0)} us; HMAC/Ed25519 step: ${(m.maced / m.signed).toFixed(3)}`);
}

await main();
