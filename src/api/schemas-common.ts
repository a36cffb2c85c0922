// Small schemas shared by the API's request and response schemas (docs/api.md §3).

import { z } from 'zod';
import { parseAddress } from './address.js';

/** docs/api.md §3: a lower-case Caliop address. */
export const AddressSchema = z
  .string()
  .min(3)
  .max(254)
  .regex(/^[a-z0-9._+-]+@[a-z0-9.-]+$/, 'must be a lower-case address local@domain')
  .refine((text) => parseAddress(text)?.address === text, 'must be a valid lower-case address local@domain');

/** docs/api.md §8.1: a message id, 22 base64url characters (16 random bytes). */
export const MessageIdSchema = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'must be a message id (22 base64url characters)');

/** docs/api.md §8.4: an opaque mailbox cursor. */
export const CursorSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a cursor returned by the relay');

/** docs/api.md §6.4: a device's name, unique within its account: lower-case letters, digits and hyphens. */
export const DeviceNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be 1-32 lower-case letters, digits or hyphens, starting with a letter or digit');

/** docs/api.md §8.10: a submission's idempotency key, chosen by the stick (16 random bytes, base64url). */
export const IdempotencyKeySchema = z.string().regex(/^[A-Za-z0-9_-]{22,64}$/, 'must be 22 to 64 base64url characters');
