// The route table of the narrow API (docs/api.md §2): the relay mounts exactly
// these and the client calls exactly these. Paths use Hono's `:param` syntax.

export const API_ROUTES = {
  relayInfo: { method: 'GET', path: '/v1/relay', auth: 'none' },
  enrol: { method: 'POST', path: '/v1/enrolment', auth: 'signed' },
  devices: { method: 'GET', path: '/v1/devices', auth: 'enrolled' },
  revokeDevice: { method: 'DELETE', path: '/v1/devices/:name', auth: 'enrolled' },
  cert: { method: 'GET', path: '/v1/certs/:address', auth: 'none' },
  updateCert: { method: 'PUT', path: '/v1/certs/:address', auth: 'enrolled' },
  submit: { method: 'POST', path: '/v1/messages', auth: 'enrolled' },
  list: { method: 'GET', path: '/v1/messages', auth: 'enrolled' },
  fetch: { method: 'GET', path: '/v1/messages/:id', auth: 'enrolled' },
  ciphertext: { method: 'GET', path: '/v1/messages/:id/ciphertext', auth: 'enrolled' },
  delete: { method: 'DELETE', path: '/v1/messages/:id', auth: 'enrolled' },
  outbound: { method: 'POST', path: '/v1/outbound', auth: 'enrolled' },
  tlsPolicy: { method: 'GET', path: '/v1/tls-policy/:domain', auth: 'enrolled' },
  outboundStatus: { method: 'GET', path: '/v1/outbound/:id', auth: 'enrolled' },
  mailboxPage: { method: 'GET', path: '/v1/mailbox', auth: 'enrolled' },
  mailboxAck: { method: 'POST', path: '/v1/mailbox/ack', auth: 'enrolled' },
  wkdAdvancedKey: { method: 'GET', path: '/.well-known/openpgpkey/:domain/hu/:hash', auth: 'none' },
  wkdAdvancedPolicy: { method: 'GET', path: '/.well-known/openpgpkey/:domain/policy', auth: 'none' },
  wkdDirectKey: { method: 'GET', path: '/.well-known/openpgpkey/hu/:hash', auth: 'none' },
  wkdDirectPolicy: { method: 'GET', path: '/.well-known/openpgpkey/policy', auth: 'none' },
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
