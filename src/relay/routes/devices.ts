// The devices of an account (docs/api.md §6.4-§6.5): the list, and revoking one of
// them from another. Signed by an enrolled device; only ever its own account.

import { toBase64url } from '../../api/base64url.js';
import { DeviceNameSchema, type DevicesResponse, type RevokeDeviceResponse } from '../../api/schemas.js';
import { RelayHttpError } from '../http-error.js';
import { authFor, deviceAuth } from '../middleware/device-auth.js';
import { rateLimit, type TokenBuckets } from '../middleware/rate-limit.js';
import { readBody } from '../middleware/read-body.js';
import type { RelayDeps } from '../relay-deps.js';
import { pathParam, routeOf, type RelayRoutes } from '../relay-routes.js';
import type { RelayEnv, SignedDevice } from '../relay-env.js';

const SMALL_BODY_BYTES = 1024;

const deviceNotFound = () => new RelayHttpError(404, 'device_not_found', 'no device of that name in your account');

function enrolledDevice(device: SignedDevice): { address: string; name: string } {
  // deviceAuth({ requireEnrolled: true }) guarantees both.
  if (device.account === undefined || device.enrolment === undefined) throw new Error('deviceAuth let an unenrolled device through');
  return { address: device.account.address, name: device.enrolment.name };
}

export function devicesRoutes(deps: RelayDeps, buckets: TokenBuckets): Pick<RelayRoutes, 'devices' | 'revokeDevice'> {
  const signed = (route: 'devices' | 'revokeDevice') => [readBody(SMALL_BODY_BYTES), deviceAuth(authFor(deps, route)), rateLimit(buckets, deps.clock)] as const;

  const devices = routeOf(...signed('devices'), async (c) => {
    const me = enrolledDevice(c.get('device'));
    const devices = await deps.store.devicesOf(me.address);
    const body: DevicesResponse = {
      devices: devices.map((device) => ({
        name: device.name,
        devicePublicKey: toBase64url(device.devicePublicKey),
        enrolledAt: device.enrolledAt,
        lastSeenAt: device.lastSeenAt,
        revokedAt: device.revokedAt,
        current: device.name === me.name,
      })),
    };
    return c.json(body);
  });

  // docs/api.md §6.5: from another device of the account; the revoked device is refused from the commit on.
  const revokeDevice = routeOf(...signed('revokeDevice'), async (c) => {
    const me = enrolledDevice(c.get('device'));
    const name = pathParam(c, 'name');
    if (!DeviceNameSchema.safeParse(name).success) throw deviceNotFound();
    if (name === me.name) {
      throw new RelayHttpError(409, 'device_is_caller', 'a device cannot revoke itself; revoke it from another device of the account');
    }
    const revokedAt = deps.clock().toISOString();
    const result = await deps.store.revokeDevice(me.address, name, revokedAt);
    if (result === 'not_found') throw deviceNotFound();
    if (result === 'already_revoked') throw new RelayHttpError(409, 'device_already_revoked', `the device ${name} is already revoked`);
    const body: RevokeDeviceResponse = { name, revokedAt };
    return c.json(body);
  });
  return { devices, revokeDevice };
}
