// The route table of the narrow API (docs/api.md §2): the relay mounts exactly
// these and the client calls exactly these. Paths use Hono's `:param` syntax.

/**
 * `auth`: none, signed (any device key), or enrolled (a device of an account). `session`:
 * whether a request in a session (docs/api.md §4.6.2) is accepted instead of a signature;
 * the routes that change who the account is take a signature only (§4.6.2).
 */
export const API_ROUTES = {
  relayInfo: { method: 'GET', path: '/v1/relay', auth: 'none', session: false },
  enrol: { method: 'POST', path: '/v1/enrolment', auth: 'signed', session: false },
  devices: { method: 'GET', path: '/v1/devices', auth: 'enrolled', session: true },
  revokeDevice: { method: 'DELETE', path: '/v1/devices/:name', auth: 'enrolled', session: false },
  cert: { method: 'GET', path: '/v1/certs/:address', auth: 'none', session: false },
  updateCert: { method: 'PUT', path: '/v1/certs/:address', auth: 'enrolled', session: false },
  submit: { method: 'POST', path: '/v1/messages', auth: 'enrolled', session: true },
  list: { method: 'GET', path: '/v1/messages', auth: 'enrolled', session: true },
  fetch: { method: 'GET', path: '/v1/messages/:id', auth: 'enrolled', session: true },
  ciphertext: { method: 'GET', path: '/v1/messages/:id/ciphertext', auth: 'enrolled', session: true },
  delete: { method: 'DELETE', path: '/v1/messages/:id', auth: 'enrolled', session: true },
  outbound: { method: 'POST', path: '/v1/outbound', auth: 'enrolled', session: true },
  tlsPolicy: { method: 'GET', path: '/v1/tls-policy/:domain', auth: 'enrolled', session: true },
  outboundStatus: { method: 'GET', path: '/v1/outbound/:id', auth: 'enrolled', session: true },
  mailboxPage: { method: 'GET', path: '/v1/mailbox', auth: 'enrolled', session: true },
  mailboxAck: { method: 'POST', path: '/v1/mailbox/ack', auth: 'enrolled', session: true },
  openSession: { method: 'POST', path: '/v1/session', auth: 'enrolled', session: false },
  closeSession: { method: 'DELETE', path: '/v1/session', auth: 'enrolled', session: true },
  wkdAdvancedKey: { method: 'GET', path: '/.well-known/openpgpkey/:domain/hu/:hash', auth: 'none', session: false },
  wkdAdvancedPolicy: { method: 'GET', path: '/.well-known/openpgpkey/:domain/policy', auth: 'none', session: false },
  wkdDirectKey: { method: 'GET', path: '/.well-known/openpgpkey/hu/:hash', auth: 'none', session: false },
  wkdDirectPolicy: { method: 'GET', path: '/.well-known/openpgpkey/policy', auth: 'none', session: false },
  mtaStsPolicy: { method: 'GET', path: '/.well-known/mta-sts.txt', auth: 'none', session: false },
} as const;

export type ApiRouteName = keyof typeof API_ROUTES;

/** Fills `:param` placeholders, percent-encoding each value. */
export function routePath(route: ApiRouteName, params: Record<string, string> = {}): string {
  return API_ROUTES[route].path.replace(/:([a-z]+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new TypeError(`missing route parameter ${name}`);
    return encodeURIComponent(value);
  });
}
