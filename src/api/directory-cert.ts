// Which certificate each directory route serves (docs/api.md §7): Caliop sticks read
// the full cert from `GET /v1/certs/{address}` (§7.1); the Web Key Directory (§7.2), which
// anyone's OpenPGP program asks, serves the cert outsiders get. The rule itself is the
// core's (src/core/outsider-cert.ts, docs/decisions/post-quantum.md); the relay, which
// shares only this narrow API with the client, reaches it here.
import { certForOutsiders } from '../core/outsider-cert.js';

/** docs/api.md §7.2: the binary certificate a WKD answer carries, from the one the directory holds. */
export function wkdCertBody(storedCert: Uint8Array): Uint8Array {
  return certForOutsiders(storedCert);
}
