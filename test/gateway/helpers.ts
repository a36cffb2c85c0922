// Mail for the gateway's tests: RFC 5322 messages, DKIM keys and signatures, records
// published in a --dns-records file. The peers themselves (swaks, a smarthost, gpg)
// are in test/helpers/smtp.ts and test/helpers/gpg.ts.

import { generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
// mailauth 4.9.5 ships no types: the signing helper's shape as the test uses it.
const { dkimSign } = require('mailauth/lib/dkim/sign') as {
  dkimSign(
    input: string | Buffer,
    options: { canonicalization?: string; signTime?: Date; signatureData: { signingDomain: string; selector: string; privateKey: string }[] },
  ): Promise<{ signatures: string; errors: unknown[] }>;
};

/** A throw-away RSA-2048 DKIM key: the private PEM and the TXT record that publishes it. */
export function makeDkimKey(): { privateKeyPem: string; txtRecord: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), txtRecord: `v=DKIM1; k=rsa; p=${der.toString('base64')}` };
}

/** The message with a DKIM-Signature header on top (relaxed/relaxed, rsa-sha256), made by mailauth's dkimSign. */
export async function signDkim(message: string, key: { privateKeyPem: string }, signingDomain: string, selector: string): Promise<string> {
  // signTime given: without it mailauth 4.9.5 signs one t= and writes another across a
  // second boundary (src/relay/gateway/dkim.ts says more).
  const result = await dkimSign(message, { canonicalization: 'relaxed/relaxed', signTime: new Date(), signatureData: [{ signingDomain, selector, privateKey: key.privateKeyPem }] });
  if (result.errors.length > 0) throw new Error(`dkimSign: ${JSON.stringify(result.errors)}`);
  return result.signatures + message;
}

export function writeJson(path: string, value: unknown): string {
  writeFileSync(path, JSON.stringify(value, null, 2));
  return path;
}

/** A minimal RFC 5322 message with CRLF line ends. */
export function rfc5322(headers: Record<string, string>, body: string): string {
  return `${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n')}\r\n\r\n${body.replace(/\r?\n/g, '\r\n')}`;
}

/** A TXT record's strings as DNS gives them: longer than 255 bytes, they are split. */
export const txt = (text: string): string[][] => [text.match(/.{1,255}/g) ?? []];
