// The sticks of one account (docs/api.md §6.4-§6.5, docs/lost-stick.md): the list
// the relay keeps, and revoking one of them from another. Used by `caliop devices`
// and the interface's devices screen.
import { DeviceNameSchema, type DeviceSummary } from '../api/schemas.js';
import { CaliopError } from '../errors.js';
import { relayClientFor } from './relay-account.js';
import type { StickSession } from './stick-session.js';

export type DeviceView = DeviceSummary;

/** `caliop devices`: the account's devices, revoked ones included, in enrolment order. */
export async function listDevices(session: StickSession): Promise<DeviceView[]> {
  const client = await relayClientFor(session);
  try {
    return (await client.devices()).devices;
  } finally {
    client.close();
  }
}

/** `caliop devices revoke NAME`: from another stick of the account; the relay refuses NAME's requests from then on. */
export async function revokeDevice(session: StickSession, name: string): Promise<{ name: string; revokedAt: string }> {
  if (!DeviceNameSchema.safeParse(name).success) {
    throw new CaliopError('device_not_found', `"${name}" is not a device name`, { hint: 'run "caliop devices" to see the names' });
  }
  const client = await relayClientFor(session);
  try {
    return await client.revokeDevice(name);
  } finally {
    client.close();
  }
}
