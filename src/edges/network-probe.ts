// Gathers what the ceremony's online check needs (docs/offline-check.md §1)
// and hands it to the pure judge in src/core/network-state.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import {
  judgeNetwork,
  parseProcNetIpv6Route,
  parseProcNetRoute,
  type NetworkObservation,
  type NetworkVerdict,
  type ObservedInterface,
} from '../core/network-state.js';

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function observeLinux(): NetworkObservation | null {
  let names: string[];
  try {
    names = readdirSync('/sys/class/net');
  } catch {
    return null;
  }
  const addressesByName = networkInterfaces();
  const interfaces: ObservedInterface[] = names.map((name) => {
    const flags = Number.parseInt(readText(`/sys/class/net/${name}/flags`)?.trim() ?? '0', 16);
    return {
      name,
      up: (flags & IFF_UP) !== 0,
      loopback: (flags & IFF_LOOPBACK) !== 0,
      addresses: (addressesByName[name] ?? []).map((info) => info.address),
    };
  });
  const ipv4 = readText('/proc/net/route');
  const ipv6 = readText('/proc/net/ipv6_route');
  const routes = [...(ipv4 ? parseProcNetRoute(ipv4) : []), ...(ipv6 ? parseProcNetIpv6Route(ipv6) : [])];
  return { interfaces, routes };
}

function observePortable(): NetworkObservation {
  const interfaces = Object.entries(networkInterfaces()).map(([name, infos]) => ({
    name,
    up: true, // Node lists only interfaces that hold an address.
    loopback: (infos ?? []).every((info) => info.internal),
    addresses: (infos ?? []).map((info) => info.address),
  }));
  return { interfaces, routes: null };
}

export function observeNetwork(): NetworkObservation {
  return (process.platform === 'linux' ? observeLinux() : null) ?? observePortable();
}

export function probeNetwork(): NetworkVerdict {
  return judgeNetwork(observeNetwork());
}
