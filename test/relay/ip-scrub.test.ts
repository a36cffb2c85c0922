// docs/disclosure.md §3: past the retention period no IP address is left in the stored facts
// of an outside message nor in the log lines, whatever form it came in: bracketed after a
// name, an EHLO address literal (`[IPv6:2001:db8::5]`, RFC 5321 §4.1.3) or an EHLO that is a
// bare address (an outside audit found the last two kept, 2026-12-02).
import { expect, it } from 'vitest';
import type { ArrivalFacts } from '../../src/api/facts.js';
import { withoutIpAddresses } from '../../src/relay/ip-scrub.js';
import { lineWithoutIps } from '../../src/relay/relay-log.js';
import { withoutIps } from '../../src/relay/store/rows.js';

const ADDRESSES = ['192.0.2.7', '198.51.100.7', '2001:db8::5', '::ffff:192.0.2.9'];

it('an address goes in every form; names, times and words stay', () => {
  expect(withoutIpAddresses('mx.example [192.0.2.1]')).toBe('mx.example');
  expect(withoutIpAddresses('[IPv6:2001:db8::5]')).toBe('');
  expect(withoutIpAddresses('[ipv6:2001:db8::5]')).toBe('');
  expect(withoutIpAddresses('198.51.100.7')).toBe('');
  expect(withoutIpAddresses('198.51.100.7 [198.51.100.7]')).toBe('');
  expect(withoutIpAddresses('refused 2001:db8::1, then 192.0.2.8.')).toBe('refused then');
  expect(withoutIpAddresses('mail.example.org')).toBe('mail.example.org');
  expect(withoutIpAddresses('at 2026-12-02T12:34:56.000Z, 12:34:56 ok')).toBe('at 2026-12-02T12:34:56.000Z, 12:34:56 ok');
  expect(withoutIpAddresses('version 1.2.3.4.5')).toBe('version 1.2.3.4.5');
});

it("an outside message's facts keep no address: the peer's EHLO literal or bare address, the hops", () => {
  for (const [ehlo, ip] of [['[IPv6:2001:db8::5]', '2001:db8::5'], ['198.51.100.7', '198.51.100.7'], ['mx.outside.test', '192.0.2.7']] as const) {
    const facts = {
      route: 'smtp-inbound',
      receivedAt: '2026-11-01T00:00:00.000Z',
      peer: { host: ehlo, ip },
      hops: [
        { from: `${ehlo} [${ip}]`, by: 'relay.example [203.0.113.1]', tls: null, verifiedByRelay: true },
        { from: 'laptop [IPv6:2001:db8::77]', by: '192.0.2.200', tls: null, verifiedByRelay: false },
      ],
      auth: { dkim: [], spf: { domain: 'outside.test', result: 'none' }, dmarc: { domain: 'outside.test', result: 'none' } },
      relayHeldPlaintext: true,
      arrivedEncrypted: false,
    } as unknown as ArrivalFacts;
    const kept = JSON.stringify(withoutIps(facts));
    for (const address of [...ADDRESSES, ip, '203.0.113.1', '2001:db8::77', '192.0.2.200']) expect(kept, `${ehlo}: ${address}`).not.toContain(address);
    expect(kept).toContain(ehlo === 'mx.outside.test' ? 'mx.outside.test' : '"host":""');
    expect(kept).toContain('relay.example');
  }
});

it('a log line keeps no address: ip fields, an ehlo field that is a literal or a bare address, addresses in messages', () => {
  const line = JSON.stringify({ event: 'smtp_refused', ip: '192.0.2.7', ehlo: '[IPv6:2001:db8::5]', helo: '198.51.100.7', detail: 'from ::ffff:192.0.2.9 at 2026-11-01T10:11:12Z', at: '2026-11-01T10:11:12.000Z' });
  const kept = lineWithoutIps(line);
  for (const address of ADDRESSES) expect(kept).not.toContain(address);
  expect(JSON.parse(kept)).toMatchObject({ event: 'smtp_refused', ip: '', ehlo: '', helo: '', at: '2026-11-01T10:11:12.000Z' });
});
