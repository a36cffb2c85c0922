// docs/offline-check.md: the pure judge of "is this machine online?".
import { describe, expect, it } from 'vitest';
import { judgeNetwork, parseProcNetIpv6Route, parseProcNetRoute, type NetworkObservation } from '../src/core/network-state.js';

// Captured on this development machine (eth0 up, default route through 192.0.2.1).
const PROC_NET_ROUTE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
`;
const PROC_NET_IPV6_ROUTE = `fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0
00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo
ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000003 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
`;

const lo = { name: 'lo', up: true, loopback: true, addresses: ['127.0.0.1', '::1'] };

describe('route tables', () => {
  it('parses /proc/net/route into CIDR destinations', () => {
    expect(parseProcNetRoute(PROC_NET_ROUTE)).toEqual([
      { iface: 'eth0', destination: '0.0.0.0/0' },
      { iface: 'eth0', destination: '192.0.2.0/24' },
    ]);
  });

  it('parses /proc/net/ipv6_route and drops reject routes', () => {
    const routes = parseProcNetIpv6Route(PROC_NET_IPV6_ROUTE);
    expect(routes.map((route) => `${route.iface} ${route.destination}`)).toEqual(['eth0 fd00::/64', 'eth0 fe80::/64', 'lo ::1/128', 'eth0 ff00::/8']);
  });
});

describe('judgeNetwork', () => {
  it('online: an up interface with a default route', () => {
    const observation: NetworkObservation = {
      interfaces: [lo, { name: 'eth0', up: true, loopback: false, addresses: ['192.0.2.2'] }],
      routes: [...parseProcNetRoute(PROC_NET_ROUTE), ...parseProcNetIpv6Route(PROC_NET_IPV6_ROUTE)],
    };
    const verdict = judgeNetwork(observation);
    expect(verdict.online).toBe(true);
    expect(verdict.evidence).toEqual(['eth0 is up with a route to 0.0.0.0/0, 192.0.2.0/24, fd00::/64']);
  });

  it('offline: only loopback, or an interface that is down', () => {
    expect(judgeNetwork({ interfaces: [lo], routes: [] })).toEqual({ online: false, evidence: [], findings: [] });
    const down = { name: 'wlan0', up: false, loopback: false, addresses: [] };
    expect(judgeNetwork({ interfaces: [lo, down], routes: [{ iface: 'wlan0', destination: '0.0.0.0/0' }] }).online).toBe(false);
  });

  it('offline: an up IPv6 interface with only link-local and multicast routes reaches nothing', () => {
    const eth = { name: 'eth0', up: true, loopback: false, addresses: ['fe80::1'] };
    const routes = [
      { iface: 'eth0', destination: 'fe80::/64' },
      { iface: 'eth0', destination: 'ff00::/8' },
    ];
    expect(judgeNetwork({ interfaces: [lo, eth], routes }).online).toBe(false);
  });

  it('without a route table (Windows, macOS): a routable address counts as online, link-local does not', () => {
    const wifi = { name: 'Wi-Fi', up: true, loopback: false, addresses: ['169.254.10.2', 'fe80::2'] };
    expect(judgeNetwork({ interfaces: [lo, wifi], routes: null }).online).toBe(false);
    const lan = { name: 'Ethernet', up: true, loopback: false, addresses: ['10.1.2.3'] };
    expect(judgeNetwork({ interfaces: [lo, lan], routes: null })).toEqual({ online: true, evidence: ['Ethernet is up with the address 10.1.2.3'], findings: [{ iface: 'Ethernet', by: 'address', values: ['10.1.2.3'] }] });
  });
});
