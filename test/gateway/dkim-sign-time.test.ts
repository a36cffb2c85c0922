// dkim_signature_straddling_a_second: mailauth 4.9.5, asked to sign without a signTime,
// reads the clock once for the t= tag it signs and again for the t= tag it writes; when
// the two reads fall in different seconds the relay's DKIM signature never verifies
// (seen once in 300 to 1,500 signatures here, more often under load). The relay passes
// one time for both (src/relay/gateway/dkim.ts). This test makes every clock read land in
// a new second, so the fault shows on every signature instead of by chance.

import { createRequire } from 'node:module';
import { dkimKeyFrom, signWithDkim } from '../../src/relay/gateway/dkim.js';
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { rfc5322 } from './helpers.js';

const require = createRequire(import.meta.url);
// mailauth 4.9.5 ships no types: the verifier's shape as the test uses it.
const { dkimVerify } = require('mailauth/lib/dkim/verify') as {
  dkimVerify(input: Buffer, options: { resolver: (name: string, type: string) => Promise<string[][]> }): Promise<{ results: { status: { result: string; comment?: string } }[] }>;
};
const { dkimSign } = require('mailauth/lib/dkim/sign') as {
  dkimSign(input: Buffer, options: { canonicalization: string; signatureData: { signingDomain: string; selector: string; privateKey: string }[] }): Promise<{ signatures: string }>;
};

const RealDate = globalThis.Date;

/** From now on, every `new Date()` and `Date.now()` is one second after the previous one. */
function clockThatTicksOnEveryRead(): void {
  let next = RealDate.UTC(2026, 10, 30, 12, 0, 0);
  const tick = (): number => (next += 1000);
  class TickingDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(tick());
      else super(...(args as [number]));
    }
    static override now(): number {
      return tick();
    }
  }
  globalThis.Date = TickingDate as DateConstructor;
}

afterEach(() => {
  globalThis.Date = RealDate;
});

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const key = dkimKeyFrom('sel', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
const resolver = async (): Promise<string[][]> => [key.txtRecord.match(/.{1,255}/g) ?? []];
const message = Buffer.from(rfc5322({ From: 'alice@caliop.test', To: 'sam@elsewhere.test', Subject: 'hello', Date: 'Mon, 30 Nov 2026 12:00:00 +0000' }, 'Hello Sam.\n'));

describe('DKIM signatures made while the clock moves on', () => {
  it('mailauth alone, without signTime, makes a signature that does not verify (the fault this guards against)', async () => {
    clockThatTicksOnEveryRead();
    const { signatures } = await dkimSign(message, { canonicalization: 'relaxed/relaxed', signatureData: [{ signingDomain: 'caliop.test', selector: 'sel', privateKey: key.privateKeyPem }] });
    globalThis.Date = RealDate;
    const verdict = await dkimVerify(Buffer.concat([Buffer.from(signatures, 'latin1'), message]), { resolver });
    expect(verdict.results[0]?.status.result).toBe('fail');
  });

  it("the relay's signWithDkim verifies however often the clock is read", async () => {
    clockThatTicksOnEveryRead();
    const signed = await signWithDkim(message, 'caliop.test', key);
    globalThis.Date = RealDate;
    const verdict = await dkimVerify(signed, { resolver });
    expect(verdict.results[0]?.status).toMatchObject({ result: 'pass' });
  });
});
