// Enrolment (docs/api.md §6): proof of possession of the device key and of the
// OpenPGP key, the relay's domain, and invite tokens.

import { rmSync } from 'node:fs';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCaliopError, type CaliopError } from '../../src/errors.js';
import { RelayErrorResponse } from '../../src/edges/relay-client.js';
import { makeGpg } from '../helpers/gpg.js';
import { temporaryFolder } from '../helpers/temp-folder.js';
import { startRelayProcess, type RelayProcess } from './helpers/relay-process.js';
import { clientFor, enrolmentProof, makeIdentity } from './helpers/test-identity.js';

function relayCode(error: unknown): string | undefined {
  const cause = (error as CaliopError).cause;
  return cause instanceof RelayErrorResponse ? cause.code : undefined;
}

async function enrolError(relay: RelayProcess, request: Parameters<ReturnType<typeof clientFor>['enrol']>[0], deviceSecretKey: Uint8Array) {
  const client = clientFor(relay, { deviceSecretKey });
  try {
    await client.enrol(request);
    return undefined;
  } catch (error) {
    return error;
  } finally {
    client.close();
  }
}

describe('enrolment without invite tokens', () => {
  let relay: RelayProcess;
  beforeAll(async () => {
    relay = await startRelayProcess();
  });
  afterAll(async () => relay?.dispose());

  it('binds address, cert and device; repeating the same enrolment is harmless', async () => {
    const dana = await makeIdentity('dana@example.test');
    const client = clientFor(relay, dana);
    const request = { address: dana.address, armoredCert: dana.armoredCert, proofSignature: await enrolmentProof(dana, relay.domain) };
    const first = await client.enrol(request);
    expect(first).toMatchObject({ address: dana.address, devicePublicKey: client.devicePublicKey });
    expect(first.certFingerprint).toBe((await openpgp.readKey({ armoredKey: dana.armoredCert })).getFingerprint().toUpperCase());
    expect(await client.enrol(request)).toEqual(first);
    expect(await client.list()).toEqual({ messages: [], nextCursor: null });
    client.close();
  });

  it('proof_by_other_key: a statement signed by another OpenPGP key is refused', async () => {
    const erin = await makeIdentity('erin@example.test');
    const mallory = await makeIdentity('mallory@example.test');
    const error = await enrolError(
      relay,
      { address: erin.address, armoredCert: erin.armoredCert, proofSignature: await enrolmentProof(erin, relay.domain, { signer: mallory.privateKey }) },
      erin.deviceSecretKey,
    );
    expect(isCaliopError(error, 'enrolment_failed')).toBe(true);
    expect(relayCode(error)).toBe('proof_invalid');
  });

  it('proof_for_other_device: a statement naming another device key is refused', async () => {
    const erin = await makeIdentity('erin@example.test');
    const other = await makeIdentity('x@example.test');
    const error = await enrolError(
      relay,
      { address: erin.address, armoredCert: erin.armoredCert, proofSignature: await enrolmentProof(erin, relay.domain, { devicePublicKey: other.devicePublicKey }) },
      erin.deviceSecretKey,
    );
    expect(relayCode(error)).toBe('proof_invalid');
  });

  it('proof_for_other_relay: a statement for another relay domain is refused', async () => {
    const erin = await makeIdentity('erin@example.test');
    const error = await enrolError(
      relay,
      { address: erin.address, armoredCert: erin.armoredCert, proofSignature: await enrolmentProof(erin, 'other.test') },
      erin.deviceSecretKey,
    );
    expect(relayCode(error)).toBe('proof_invalid');
  });

  it('address_not_in_cert: the cert must carry a user id with the address', async () => {
    const frank = await makeIdentity('frank@example.test', 'someone-else@example.test');
    const error = await enrolError(
      relay,
      { address: frank.address, armoredCert: frank.armoredCert, proofSignature: await enrolmentProof(frank, relay.domain) },
      frank.deviceSecretKey,
    );
    expect(isCaliopError(error, 'enrolment_failed')).toBe(true);
    expect(relayCode(error)).toBe('address_not_in_cert');
  });

  it('address_of_other_domain: only addresses @ the relay domain', async () => {
    const gina = await makeIdentity('gina@elsewhere.test');
    const error = await enrolError(
      relay,
      { address: gina.address, armoredCert: gina.armoredCert, proofSignature: await enrolmentProof(gina, relay.domain) },
      gina.deviceSecretKey,
    );
    expect(relayCode(error)).toBe('wrong_domain');
  });

  it('secret_key_as_cert: a certificate holding secret key material is refused', async () => {
    const hugo = await makeIdentity('hugo@example.test');
    const error = await enrolError(
      relay,
      { address: hugo.address, armoredCert: hugo.privateKey.armor(), proofSignature: await enrolmentProof(hugo, relay.domain) },
      hugo.deviceSecretKey,
    );
    expect(relayCode(error)).toBe('cert_invalid');
  });

  it('address_takeover: an enrolled address cannot be re-bound to another key or device', async () => {
    const ivy = await makeIdentity('ivy@example.test');
    const client = clientFor(relay, ivy);
    await client.enrol({ address: ivy.address, armoredCert: ivy.armoredCert, proofSignature: await enrolmentProof(ivy, relay.domain) });
    client.close();
    const impostor = await makeIdentity('ivy@example.test');
    const error = await enrolError(
      relay,
      { address: impostor.address, armoredCert: impostor.armoredCert, proofSignature: await enrolmentProof(impostor, relay.domain) },
      impostor.deviceSecretKey,
    );
    expect(relayCode(error)).toBe('address_taken');
    const reader = clientFor(relay, ivy);
    const directoryCert = await openpgp.readKey({ armoredKey: (await reader.lookupCert(ivy.address))! });
    reader.close();
    expect(directoryCert.getFingerprint()).toBe((await openpgp.readKey({ armoredKey: ivy.armoredCert })).getFingerprint());
  });

  it('accepts a proof made by gpg (binary-mode detached signature)', async () => {
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { buildEnrolmentStatement } = await import('../../src/api/enrolment-statement.js');
    const jack = await makeIdentity('jack@example.test');
    const scratch = temporaryFolder('gpg');
    const peer = makeGpg(scratch.path);
    const home = scratch.path;
    try {
      writeFileSync(join(home, 'key.asc'), jack.privateKey.armor());
      writeFileSync(join(home, 'statement'), buildEnrolmentStatement({ address: jack.address, devicePublicKey: jack.devicePublicKey, domain: relay.domain }));
      peer.run(['--import', join(home, 'key.asc')]);
      const proofSignature = peer.run(['--armor', '--detach-sign', '--output', '-', join(home, 'statement')]).toString();
      const client = clientFor(relay, jack);
      expect((await client.enrol({ address: jack.address, armoredCert: jack.armoredCert, proofSignature })).address).toBe(jack.address);
      client.close();
    } finally {
      peer.kill();
      scratch.remove();
    }
  });
});

describe('enrolment with --invite-tokens', () => {
  let relay: RelayProcess;
  beforeAll(async () => {
    relay = await startRelayProcess({ inviteTokens: ['# volunteers hand these out', 'token-one-8f3k2m', 'token-two-p9x7q1'] });
  });
  afterAll(async () => {
    await relay?.dispose();
    if (relay) rmSync(relay.dataDir, { recursive: true, force: true });
  });

  async function tryEnrol(localPart: string, inviteToken?: string) {
    const user = await makeIdentity(`${localPart}@example.test`);
    return enrolError(
      relay,
      {
        address: user.address,
        armoredCert: user.armoredCert,
        proofSignature: await enrolmentProof(user, relay.domain),
        ...(inviteToken === undefined ? {} : { inviteToken }),
      },
      user.deviceSecretKey,
    );
  }

  it('says so in GET /v1/relay', async () => {
    const client = clientFor(relay, { deviceSecretKey: new Uint8Array(32).fill(1) });
    expect((await client.info()).inviteRequired).toBe(true);
    client.close();
  });

  it('invite_required: no token, no enrolment', async () => {
    expect(relayCode(await tryEnrol('kim'))).toBe('invite_required');
  });

  it('invite_invalid: a token that is not in the file', async () => {
    expect(relayCode(await tryEnrol('kim', 'token-three-guess'))).toBe('invite_invalid');
    expect(relayCode(await tryEnrol('kim', '# volunteers hand these out'))).toBe('invite_invalid');
  });

  it('invite_reuse: each token works once', async () => {
    expect(await tryEnrol('kim', 'token-one-8f3k2m')).toBeUndefined();
    expect(relayCode(await tryEnrol('lea', 'token-one-8f3k2m'))).toBe('invite_invalid');
    expect(await tryEnrol('lea', 'token-two-p9x7q1')).toBeUndefined();
  });

  it('a used token stays used after a restart', async () => {
    await relay.stop();
    relay = await startRelayProcess({ dataDir: relay.dataDir, inviteTokens: ['token-one-8f3k2m'] });
    expect(relayCode(await tryEnrol('max', 'token-one-8f3k2m'))).toBe('invite_invalid');
  });
});
