// RFC 8461 (MTA-STS): the TXT record, the policy format, MX matching, and the policy
// fetched from a real HTTPS server on loopback (its certificate checked for
// mta-sts.DOMAIN) through a resolver the test controls.

import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevTls } from '../../src/relay/dev-tls.js';
import { fetchStsPolicyText, mxMatches, parseStsPolicy, parseStsRecord, StsPolicyCache, stsDecision } from '../../src/relay/gateway/mta-sts.js';
import { temporaryFolder, type TemporaryFolder } from '../helpers/temp-folder.js';
import { readFileSync } from 'node:fs';

const POLICY = 'version: STSv1\r\nmode: enforce\r\nmx: mail.outside.test\r\nmx: *.backup.outside.test\r\nmax_age: 86400\r\n';

describe('RFC 8461 formats', () => {
  it.each([
    [['v=STSv1; id=20160831085700Z;'], { id: '20160831085700Z' }],
    [['v=STSv1;id=abc'], { id: 'abc' }],
    [['v=STSv1; id=20160831085700Z;', 'v=STSv1; id=other'], null], // §3.1: two records are none
    [['v=STSv2; id=x'], null],
    [['v=STSv1; id=has-dash'], null],
    [['v=spf1 -all'], null],
  ])('TXT %j', (texts, expected) => {
    expect(parseStsRecord(texts)).toEqual(expected);
  });

  it('parses the policy of §3.2, and refuses broken ones', () => {
    expect(parseStsPolicy(POLICY)).toEqual({ mode: 'enforce', mx: ['mail.outside.test', '*.backup.outside.test'], maxAge: 86400 });
    expect(parseStsPolicy('version: STSv1\nmode: testing\nmx: MX.Outside.test\nmax_age: 604800\nextension: ignored\n')).toEqual({ mode: 'testing', mx: ['mx.outside.test'], maxAge: 604800 });
    expect(parseStsPolicy('version: STSv1\nmode: none\nmax_age: 0\n')).toEqual({ mode: 'none', mx: [], maxAge: 0 });
    for (const broken of [
      POLICY.replace('STSv1', 'STSv2'),
      POLICY.replace('enforce', 'strict'),
      POLICY.replace('86400', '31557601'),
      'version: STSv1\nmode: enforce\nmax_age: 1\n', // enforce without mx
      POLICY.replace('mail.outside.test', 'mail..outside.test'),
      '<html>not a policy</html>',
    ]) {
      expect(parseStsPolicy(broken)).toBeNull();
    }
  });

  it('matches MX hosts as §4.1 says: a wildcard covers exactly one leftmost label', () => {
    const patterns = ['mail.outside.test', '*.backup.outside.test'];
    expect(mxMatches('mail.outside.test.', patterns)).toBe(true);
    expect(mxMatches('MAIL.outside.test', patterns)).toBe(true);
    expect(mxMatches('a.backup.outside.test', patterns)).toBe(true);
    expect(mxMatches('a.b.backup.outside.test', patterns)).toBe(false);
    expect(mxMatches('backup.outside.test', patterns)).toBe(false);
    expect(mxMatches('evil-mail.outside.test', patterns)).toBe(false);
  });

  it('decides: enforce with an MX outside the policy is no delivery; testing reports only; none is no policy', () => {
    const policy = parseStsPolicy(POLICY);
    expect(stsDecision(policy, 'mail.outside.test')).toEqual({ kind: 'enforce', mxAllowed: true });
    expect(stsDecision(policy, 'mx.attacker.test')).toEqual({ kind: 'enforce', mxAllowed: false });
    expect(stsDecision(parseStsPolicy(POLICY.replace('enforce', 'testing')), 'mx.attacker.test')).toEqual({ kind: 'testing', mxAllowed: false });
    expect(stsDecision(null, 'mail.outside.test')).toEqual({ kind: 'no-policy' });
  });
});

describe('the policy over HTTPS (loopback server, certificate checked)', () => {
  let scratch: TemporaryFolder;
  let server: Server;
  let wrongName: Server;
  let ca: string;
  let port: number;
  let wrongPort: number;
  let fetches = 0;
  let body = POLICY;
  let answer: 'policy' | 'redirect' | 'html' | 'huge' = 'policy';
  const txt = new Map<string, string[][]>();

  async function listen(tls: { cert: string; key: string }, handler: Parameters<typeof createServer>[1]): Promise<[Server, number]> {
    const created = createServer({ cert: tls.cert, key: tls.key }, handler);
    created.listen(0, '127.0.0.1');
    await once(created, 'listening');
    return [created, (created.address() as { port: number }).port];
  }

  beforeAll(async () => {
    scratch = temporaryFolder('mta-sts');
    const tls = ensureDevTls(scratch.path, 'mta-sts.outside.test');
    ca = readFileSync(join(scratch.path, 'dev-tls-cert.pem'), 'utf8');
    [server, port] = await listen(tls, (req, res) => {
      fetches += 1;
      if (req.url !== '/.well-known/mta-sts.txt' || req.headers.host !== 'mta-sts.outside.test') {
        res.writeHead(404).end();
      } else if (answer === 'redirect') {
        res.writeHead(301, { location: 'https://mta-sts.outside.test/policy.txt' }).end();
      } else if (answer === 'html') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(POLICY);
      } else if (answer === 'huge') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`${POLICY}${'#'.repeat(70 * 1024)}`);
      } else if (answer === 'policy') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
      } else {
        res.writeHead(404).end();
      }
    });
    const other = temporaryFolder('mta-sts-other');
    [wrongName, wrongPort] = await listen(ensureDevTls(other.path, 'other.test'), (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(POLICY));
    other.remove();
  });

  afterAll(async () => {
    server?.close();
    wrongName?.close();
    scratch?.remove();
  });

  it('fetches the policy; a redirect, another type, an oversize body or a certificate for another name give none', async () => {
    const options = { ca, connectTo: { host: '127.0.0.1', port } };
    expect(await fetchStsPolicyText('outside.test', options)).toBe(POLICY);
    for (const other of ['redirect', 'html', 'huge'] as const) {
      answer = other;
      expect(await fetchStsPolicyText('outside.test', options)).toBeNull();
    }
    answer = 'policy';
    // The dev certificate names mta-sts.outside.test: another domain's name fails TLS, as it must.
    expect(await fetchStsPolicyText('elsewhere.test', options)).toBeNull();
    expect(await fetchStsPolicyText('outside.test', { ca, connectTo: { host: '127.0.0.1', port: wrongPort } })).toBeNull();
    expect(await fetchStsPolicyText('outside.test', { ca: null, connectTo: { host: '127.0.0.1', port } })).toBeNull();
  });

  it('caches by the TXT id and max_age; a failed refresh keeps the live policy', async () => {
    let clock = 1_000_000;
    const cache = new StsPolicyCache({ resolveTxt: async (name) => txt.get(name) ?? Promise.reject(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' })) }, { ca, connectTo: { host: '127.0.0.1', port } }, () => clock);
    expect(await cache.policyFor('outside.test')).toBeNull(); // no TXT record: no policy, nothing fetched
    txt.set('_mta-sts.outside.test', [['v=STSv1; id=one']]);
    const before = fetches;
    expect(await cache.policyFor('outside.test')).toMatchObject({ mode: 'enforce' });
    expect(await cache.policyFor('outside.test')).toMatchObject({ mode: 'enforce' });
    expect(fetches - before).toBe(1);
    body = POLICY.replace('enforce', 'testing');
    txt.set('_mta-sts.outside.test', [['v=STSv1; id=two']]);
    expect(await cache.policyFor('outside.test')).toMatchObject({ mode: 'testing' });
    // The record disappears (an attacker strips DNS): the cached policy holds until max_age.
    txt.delete('_mta-sts.outside.test');
    expect(await cache.policyFor('outside.test')).toMatchObject({ mode: 'testing' });
    clock += 86_400 * 1000 + 1;
    expect(await cache.policyFor('outside.test')).toBeNull();
    body = POLICY;
  });
});
