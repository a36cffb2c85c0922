// The certificate people outside Caliop are given (docs/decisions/post-quantum.md,
// "Who sees the post-quantum subkey"): ours without the subkeys only Caliop sticks use.
// RNP (Thunderbird's engine) refuses a whole cert that carries an algorithm-35 subkey
// ("unknown key algorithm: 35"), so the post-quantum subkey stays between Caliop sticks:
// the relay's internal directory (docs/api.md §7.1) serves the full cert, everything an
// outsider can fetch or be handed (WKD §7.2, Autocrypt, `caliop key export`, `init`'s
// `cert`) serves this one. Pure: bytes in, bytes out, by the packet framing of RFC 9580
// §4.2 alone, so the kept packets are the very bytes given (no re-serialisation): for a
// Caliop cert, byte for byte the cert of sticks made before the post-quantum subkey.
import { CaliopError } from '../errors.js';
import { POST_QUANTUM_KEM_ALGORITHM } from './openpgp-algorithms.js';

/** docs/decisions/post-quantum.md: the subkey algorithms kept between Caliop sticks. */
export const INSIDE_ONLY_ALGORITHMS: ReadonlySet<number> = new Set([POST_QUANTUM_KEM_ALGORITHM]);

// RFC 9580 §5: packet tags.
const TAG = { signature: 2, secretKey: 5, publicKey: 6, secretSubkey: 7, trust: 12, userID: 13, publicSubkey: 14, userAttribute: 17 } as const;
// RFC 9580 §5.2.1: a subkey revocation signature.
const SUBKEY_REVOCATION = 0x28;

interface Packet {
  readonly tag: number;
  /** The whole packet, header included: the bytes kept as they came. */
  readonly start: number;
  readonly end: number;
  readonly bodyStart: number;
}

const malformed = (what: string) => new CaliopError('bad_input', `the certificate is not a sequence of OpenPGP packets (${what})`);

/** RFC 9580 §4.2: one packet's header (both formats; no partial lengths, which §4.2.1.4 allows for data packets only). */
function packetAt(bytes: Uint8Array, start: number): Packet {
  const first = bytes[start]!;
  if ((first & 0x80) === 0) throw malformed(`no packet header at byte ${start}`);
  let tag: number;
  let length: number;
  let bodyStart: number;
  const byte = (at: number) => {
    if (at >= bytes.length) throw malformed('a truncated header');
    return bytes[at]!;
  };
  if (first & 0x40) {
    // §4.2.1: OpenPGP format.
    tag = first & 0x3f;
    const o1 = byte(start + 1);
    if (o1 < 192) [length, bodyStart] = [o1, start + 2];
    else if (o1 < 224) [length, bodyStart] = [((o1 - 192) << 8) + byte(start + 2) + 192, start + 3];
    else if (o1 === 255) [length, bodyStart] = [((byte(start + 2) << 24) >>> 0) + (byte(start + 3) << 16) + (byte(start + 4) << 8) + byte(start + 5), start + 6];
    else throw malformed('a partial body length in a certificate');
  } else {
    // §4.2.2: legacy format.
    tag = (first >> 2) & 0x0f;
    switch (first & 0x03) {
      case 0: [length, bodyStart] = [byte(start + 1), start + 2]; break;
      case 1: [length, bodyStart] = [(byte(start + 1) << 8) + byte(start + 2), start + 3]; break;
      case 2: [length, bodyStart] = [((byte(start + 1) << 24) >>> 0) + (byte(start + 2) << 16) + (byte(start + 3) << 8) + byte(start + 4), start + 5]; break;
      default: [length, bodyStart] = [bytes.length - (start + 1), start + 1]; // indeterminate: to the end
    }
  }
  const end = bodyStart + length;
  if (end > bytes.length) throw malformed('a packet longer than the data');
  return { tag, start, end, bodyStart };
}

function packetsOf(bytes: Uint8Array): Packet[] {
  const packets: Packet[] = [];
  for (let at = 0; at < bytes.length; ) {
    const packet = packetAt(bytes, at);
    packets.push(packet);
    at = packet.end;
  }
  return packets;
}

/** RFC 9580 §5.5.2: a v4 or v6 key's algorithm octet follows the version and the 4-octet creation time. */
function keyAlgorithm(bytes: Uint8Array, packet: Packet): number | undefined {
  const version = bytes[packet.bodyStart];
  return (version === 4 || version === 6) && packet.bodyStart + 5 < packet.end ? bytes[packet.bodyStart + 5] : undefined;
}

/** A subkey (public or secret) with the packets that belong to it: its signatures and trust packets. */
interface SubkeySection {
  readonly algorithm: number | undefined;
  readonly packets: Packet[];
}

/** Splits a certificate (or key, or keyring) into what precedes each subkey and each subkey's section. */
function sections(bytes: Uint8Array): Array<Packet | SubkeySection> {
  const out: Array<Packet | SubkeySection> = [];
  let current: SubkeySection | undefined;
  for (const packet of packetsOf(bytes)) {
    if (packet.tag === TAG.publicSubkey || packet.tag === TAG.secretSubkey) {
      current = { algorithm: keyAlgorithm(bytes, packet), packets: [packet] };
      out.push(current);
    } else if (current !== undefined && (packet.tag === TAG.signature || packet.tag === TAG.trust)) {
      current.packets.push(packet);
    } else {
      current = undefined; // a primary key, user id or attribute: a new part of the cert (or the next cert of a keyring)
      out.push(packet);
    }
  }
  return out;
}

const isSection = (part: Packet | SubkeySection): part is SubkeySection => 'packets' in part;

/**
 * docs/decisions/post-quantum.md: the certificate (or secret key) without its inside-only
 * subkeys and their signatures; every other packet is kept as the very bytes given.
 */
export function certForOutsiders(bytes: Uint8Array): Uint8Array {
  const kept: Uint8Array[] = [];
  for (const part of sections(bytes)) {
    if (!isSection(part)) kept.push(bytes.subarray(part.start, part.end));
    else if (part.algorithm === undefined || !INSIDE_ONLY_ALGORITHMS.has(part.algorithm)) kept.push(bytes.subarray(part.packets[0]!.start, part.packets.at(-1)!.end));
  }
  const out = new Uint8Array(kept.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of kept) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * docs/decisions/post-quantum.md: whether the cert carries a post-quantum encryption subkey
 * that it does not revoke (a subkey revocation, 0x28, among its signatures). Read from the
 * packets alone, without verifying: for the live preview of the exposure index
 * (docs/exposure.md §4.5), which the assessment made at send time, on verified certs, replaces.
 */
export function hasPostQuantumSubkey(bytes: Uint8Array): boolean {
  return sections(bytes).some(
    (part) =>
      isSection(part) &&
      part.algorithm === POST_QUANTUM_KEM_ALGORITHM &&
      !part.packets.some((packet) => packet.tag === TAG.signature && signatureType(bytes, packet) === SUBKEY_REVOCATION),
  );
}

/** RFC 9580 §5.2.3 (v4, v6) and §5.2.2 (v3): the signature type octet. */
function signatureType(bytes: Uint8Array, packet: Packet): number | undefined {
  const version = bytes[packet.bodyStart];
  const at = version === 3 ? packet.bodyStart + 2 : packet.bodyStart + 1;
  return at < packet.end ? bytes[at] : undefined;
}
