// Is this machine online? The ceremony's rule (docs/offline-check.md §2):
// online = some non-loopback interface is up AND has a route that can carry
// traffic off the machine (any unicast route, IPv4 or IPv6, except IPv6
// link-local fe80::/10 and multicast ff00::/8, which every up IPv6 interface
// has). Pure: the observation is gathered at the edge (src/edges/network-probe.ts).

export interface ObservedInterface {
  readonly name: string;
  readonly up: boolean;
  readonly loopback: boolean;
  readonly addresses: readonly string[];
}

export interface ObservedRoute {
  readonly iface: string;
  /** Destination in CIDR form, e.g. "0.0.0.0/0", "192.0.2.0/24", "fe80::/64". */
  readonly destination: string;
}

export interface NetworkObservation {
  readonly interfaces: readonly ObservedInterface[];
  /** null when the platform gives no route table (then addresses decide: §3). */
  readonly routes: readonly ObservedRoute[] | null;
}

/** Why one interface makes the machine online: its usable routes (§2), or its routable addresses (§3). */
export interface NetworkFinding {
  readonly iface: string;
  readonly by: 'route' | 'address';
  readonly values: readonly string[];
}

export interface NetworkVerdict {
  readonly online: boolean;
  /** One plain sentence per interface that makes the machine online (English: the CLI's). */
  readonly evidence: readonly string[];
  /** The same facts, for a face that words them in its own language (the interface). */
  readonly findings: readonly NetworkFinding[];
}

function isIpv6LinkLocalOrMulticast(cidrOrAddress: string): boolean {
  const address = cidrOrAddress.split('/')[0]!.toLowerCase();
  return /^fe[89ab][0-9a-f]?:/.test(address) || address.startsWith('ff');
}

function isIpv4LinkLocal(cidrOrAddress: string): boolean {
  return cidrOrAddress.startsWith('169.254.');
}

function carriesTraffic(destinationOrAddress: string): boolean {
  return !isIpv6LinkLocalOrMulticast(destinationOrAddress) && !isIpv4LinkLocal(destinationOrAddress);
}

/** docs/offline-check.md §2 and §3. */
export function judgeNetwork(observation: NetworkObservation): NetworkVerdict {
  const findings: NetworkFinding[] = [];
  for (const iface of observation.interfaces) {
    if (iface.loopback || !iface.up) continue;
    if (observation.routes !== null) {
      // §2: an up interface with a usable route.
      const usable = observation.routes.filter((route) => route.iface === iface.name && carriesTraffic(route.destination));
      if (usable.length > 0) {
        findings.push({ iface: iface.name, by: 'route', values: usable.map((route) => route.destination) });
      }
    } else {
      // §3: no route table on this platform: a routable address is taken as online.
      const routable = iface.addresses.filter(carriesTraffic);
      if (routable.length > 0) {
        findings.push({ iface: iface.name, by: 'address', values: routable });
      }
    }
  }
  const evidence = findings.map((finding) => `${finding.iface} is up with ${finding.by === 'route' ? 'a route to' : 'the address'} ${finding.values.join(', ')}`);
  return { online: findings.length > 0, evidence, findings };
}

/** Parses /proc/net/route (IPv4; little-endian hex fields). */
export function parseProcNetRoute(text: string): ObservedRoute[] {
  const routes: ObservedRoute[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) continue;
    const [iface, destinationHex, , flagsHex, , , , maskHex] = fields as [string, string, string, string, string, string, string, string];
    const RTF_UP = 0x1;
    if ((Number.parseInt(flagsHex, 16) & RTF_UP) === 0) continue;
    const destination = hexLittleEndianToIpv4(destinationHex);
    const prefix = countBits(Number.parseInt(maskHex, 16) >>> 0);
    routes.push({ iface, destination: `${destination}/${prefix}` });
  }
  return routes;
}

/** Parses /proc/net/ipv6_route (destination, prefix length, …, device last). */
export function parseProcNetIpv6Route(text: string): ObservedRoute[] {
  const routes: ObservedRoute[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const destinationHex = fields[0]!;
    const prefix = Number.parseInt(fields[1]!, 16);
    const iface = fields[9]!;
    const RTF_REJECT = 0x200;
    if ((Number.parseInt(fields[8]!, 16) & RTF_REJECT) !== 0) continue;
    routes.push({ iface, destination: `${hexToIpv6(destinationHex)}/${prefix}` });
  }
  return routes;
}

function hexLittleEndianToIpv4(hex: string): string {
  const value = Number.parseInt(hex, 16) >>> 0;
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff].join('.');
}

function hexToIpv6(hex: string): string {
  const groups = hex.match(/.{4}/g) ?? [];
  return groups.map((group) => group.replace(/^0+(?=.)/, '')).join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

function countBits(value: number): number {
  let bits = 0;
  for (let v = value; v !== 0; v >>>= 1) bits += v & 1;
  return bits;
}
