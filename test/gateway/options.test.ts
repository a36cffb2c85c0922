// docs/gateway.md §3.1, §4.3: the gateway's flags of caliop-relay.

import { describe, expect, it } from 'vitest';
import { parseRelayOptions, RelayUsageError, type RelayOptions } from '../../src/relay/options.js';

const BASE = ['--data', '/d', '--listen', '127.0.0.1:0', '--domain', 'example.test', '--dev-tls'];
const parse = (...extra: string[]) => parseRelayOptions([...BASE, ...extra]) as RelayOptions;

describe('gateway options', () => {
  it('defaults: no SMTP, no smarthost', () => {
    expect(parse().gateway).toEqual({
      postmaster: null,
      smtpListen: null,
      smtpHostname: 'example.test',
      smtpMaxMessageBytes: 25 * 1024 * 1024,
      smtpMaxClients: 200,
      smtpMaxClientsPerIp: 10,
      smtpConnectionsPerIpPerMinute: 60,
      smtpIdleTimeoutSeconds: 30,
      dns: { kind: 'system', server: null },
      smarthost: null,
      mx: null,
      outboundEncryptedOnly: false,
      outboundRetry: { firstDelayMs: 60_000, maxDelayMs: 3_600_000, giveUpAfterMs: 172_800_000 },
      dkim: null,
    });
  });

  it('every flag', () => {
    const options = parse(
      '--smtp-listen', '[::1]:2525', '--smtp-hostname', 'MX.example.test', '--smtp-max-message-bytes', '1000', '--smtp-max-clients', '5',
      '--smtp-max-clients-per-ip', '2', '--smtp-connections-per-ip-per-minute', '7', '--smtp-idle-timeout', '9',
      '--dns-records', '/r.json', '--smarthost', 'smtp.example.net:587', '--smarthost-tls', 'starttls', '--smarthost-ca', '/ca.pem', '--outbound-encrypted-only',
      '--outbound-retry-seconds', '5', '--outbound-give-up-seconds', '600', '--dkim-key', '/dkim.pem', '--dkim-selector', 'ops2026',
      '--postmaster', 'Carol@Example.test',
    );
    expect(options.gateway).toEqual({
      postmaster: 'carol@example.test',
      smtpListen: { host: '::1', port: 2525 },
      smtpHostname: 'mx.example.test',
      smtpMaxMessageBytes: 1000,
      smtpMaxClients: 5,
      smtpMaxClientsPerIp: 2,
      smtpConnectionsPerIpPerMinute: 7,
      smtpIdleTimeoutSeconds: 9,
      dns: { kind: 'records', file: '/r.json' },
      smarthost: { host: 'smtp.example.net', port: 587, tlsMode: 'starttls', caFile: '/ca.pem' },
      mx: null,
      outboundEncryptedOnly: true,
      outboundRetry: { firstDelayMs: 5_000, maxDelayMs: 3_600_000, giveUpAfterMs: 600_000 },
      dkim: { keyFile: '/dkim.pem', selector: 'ops2026' },
    });
    expect(parse('--smarthost', '127.0.0.1:25').gateway.smarthost?.tlsMode).toBe('opportunistic');
  });

  it('--deliver-to-mx (docs/gateway.md §4.8): the local resolver, the extra CA, the tests\' ports', () => {
    expect(parse('--deliver-to-mx').gateway.mx).toEqual({ resolver: { host: '127.0.0.1', port: 53 }, caFile: null, port: 25, policyPort: 443 });
    expect(parse('--deliver-to-mx', '--outbound-resolver', '[::1]:5353', '--outbound-ca', '/ca.pem', '--mx-port', '2525', '--mta-sts-port', '8443', '--outbound-retry-seconds', '5').gateway.mx).toEqual({
      resolver: { host: '::1', port: 5353 },
      caFile: '/ca.pem',
      port: 2525,
      policyPort: 8443,
    });
  });

  it.each([
    [['--dkim-key', '/k.pem'], /--dkim-key and --dkim-selector go together/],
    [['--dkim-key', '/k.pem', '--dkim-selector', 'bad_label!'], /not a valid DNS label/],
    [['--dns-records', '/r.json'], /needs --smtp-listen/],
    [['--smtp-listen', '0.0.0.0:25', '--dns-records', '/r.json'], /--dns-records is for tests/],
    [['--smtp-listen', '127.0.0.1:25', '--dns-records', '/r.json', '--dns-server', '192.0.2.53'], /not both/],
    [['--smtp-listen', 'nope'], /--smtp-listen must be HOST:PORT/],
    [['--smarthost', 'smtp.example.net:25', '--smarthost-tls', 'none'], /loopback smarthost/],
    [['--smarthost', '127.0.0.1:25', '--smarthost-tls', 'sometimes'], /must be opportunistic/],
    [['--smarthost-tls', 'starttls'], /need --smarthost/],
    [['--outbound-retry-seconds', '5'], /--outbound-retry-seconds and --outbound-give-up-seconds need --smarthost or --deliver-to-mx/],
    [['--deliver-to-mx', '--smarthost', '127.0.0.1:25'], /not both/],
    [['--deliver-to-mx', '--outbound-resolver', '192.0.2.53'], /loopback address/],
    [['--mx-port', '2525'], /--mx-port needs --deliver-to-mx/],
    [['--outbound-ca', '/ca.pem'], /--outbound-ca needs --deliver-to-mx/],
    [['--smarthost', '127.0.0.1:25', '--outbound-give-up-seconds', '0'], /outbound-give-up-seconds must be an integer/],
    [['--smtp-listen', '127.0.0.1:25', '--smtp-max-clients', '0'], /smtp-max-clients/],
    [['--postmaster', 'carol@elsewhere.test'], /--postmaster must be an address @example.test/],
    [['--postmaster', 'not an address'], /--postmaster must be an address/],
    [['--postmaster', 'abuse@example.test'], /a person's address, not the role address itself/],
  ])('refuses %j', (extra, message) => {
    expect(() => parseRelayOptions([...BASE, ...extra])).toThrow(RelayUsageError);
    expect(() => parseRelayOptions([...BASE, ...extra])).toThrow(message);
  });

  it('--mx-port and --mta-sts-port are for tests: every listen address on loopback', () => {
    const args = ['--data', '/d', '--listen', '0.0.0.0:443', '--domain', 'example.test', '--dev-tls', '--deliver-to-mx', '--mx-port', '2525'];
    expect(() => parseRelayOptions(args)).toThrow(/--mx-port and --mta-sts-port are for tests/);
  });

  it('--dns-records also needs the HTTP listen address on loopback', () => {
    const args = ['--data', '/d', '--listen', '0.0.0.0:443', '--domain', 'example.test', '--dev-tls', '--smtp-listen', '127.0.0.1:25', '--dns-records', '/r.json'];
    expect(() => parseRelayOptions(args)).toThrow(/--dns-records is for tests/);
  });
});
