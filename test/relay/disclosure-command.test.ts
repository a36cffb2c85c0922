// docs/disclosure.md §4-§6: the operator's `caliop-relay disclosure` and `disclosure-log`
// refuse, with their own exit codes, what would give a judge a false archive or break the
// log: a mistyped data folder, a missing store, an address the relay knows nothing of, a
// second relay host with another disclosure key, an --out that cannot be made, a wrong date.
// Run as transcripts of the built program, on a SQLite store made here.

import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_COMMAND_EXIT } from '../../src/relay/command-error.js';
import { createDisclosureKey, makeDisclosure, readDisclosureKey, verifyArchive } from '../../src/relay/disclosure.js';
import { PostgresRelayStore } from '../../src/relay/store/postgres-store.js';
import { SqliteRelayStore } from '../../src/relay/store/sqlite-store.js';
import { temporaryFolder, type TemporaryFolder } from '../helpers/temp-folder.js';
import { RELAY_MAIN } from './helpers/relay-process.js';
import { makeIdentity, type TestIdentity } from './helpers/test-identity.js';
import { dropDatabase, ensureDatabase, POSTGRES_URL } from './helpers/test-store.js';

let scratch: TemporaryFolder;
let alice: TestIdentity;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [RELAY_MAIN, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

let folders = 0;
/** A relay data folder whose SQLite store holds alice's account. */
async function relayFolder(): Promise<string> {
  const dir = join(scratch.path, `relay-${++folders}`);
  mkdirSync(dir);
  const store = SqliteRelayStore.open(join(dir, 'relay.sqlite'));
  await store.createAccount(
    { address: alice.address, localPart: 'alice', wkdHash: 'x', cert: alice.privateKey.toPublic().write(), certFingerprint: 'F', devicePublicKey: alice.devicePublicKey, enrolledAt: '2026-11-30T10:00:00.000Z' },
    null,
  );
  await store.close();
  return dir;
}

async function logLength(file: string): Promise<number> {
  const store = SqliteRelayStore.open(file);
  try {
    return (await store.disclosureLog()).length;
  } finally {
    await store.close();
  }
}

const firstLines = (stderr: string) => stderr.split('\n').slice(0, 2);

beforeAll(async () => {
  scratch = temporaryFolder('disclosure-command');
  alice = await makeIdentity('alice@example.test');
});

afterAll(() => scratch?.remove());

describe('disclosure never creates a data folder, a store or a key where there is none (exit 4)', () => {
  it('a mistyped --data: refused, nothing created', async () => {
    const missing = join(scratch.path, 'nonexist');
    const made = await run(['disclosure', '--data', missing, '--address', 'alice@example.test', '--out', join(scratch.path, 'x.json')]);
    expect([made.code, ...firstLines(made.stderr)]).toEqual([4, `caliop-relay: error: the data folder ${missing} does not exist`, "caliop-relay: hint: give --data the relay's data folder (the one its --data names)"]);
    const log = await run(['disclosure-log', '--data', missing]);
    expect([log.code, log.stderr.split('\n')[0]]).toEqual([4, `caliop-relay: error: the data folder ${missing} does not exist`]);
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(join(scratch.path, 'x.json'))).toBe(false);
  });

  it('no --store on a relay whose store is elsewhere (PostgreSQL): refused with the hint, no store made', async () => {
    const dir = join(scratch.path, 'postgres-host');
    mkdirSync(dir);
    const made = await run(['disclosure', '--data', dir, '--address', 'alice@example.test', '--out', join(scratch.path, 'y.json')]);
    expect(made.code).toBe(4);
    expect(firstLines(made.stderr)).toEqual([
      `caliop-relay: error: no relay store: ${join(dir, 'relay.sqlite')} does not exist`,
      'caliop-relay: hint: pass --store postgres://… on a relay that uses PostgreSQL (or set CALIOP_RELAY_STORE), or --store sqlite:FILE for another SQLite file',
    ]);
    const log = await run(['disclosure-log', '--data', dir]);
    expect(log.code).toBe(4);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('key-reset, likewise: a mistyped --data or a missing store is refused, nothing created', async () => {
    const missing = join(scratch.path, 'nonexist-reset');
    const args = ['--address', 'alice@example.test', '--fingerprint', 'A'.repeat(40)];
    const made = await run(['key-reset', '--data', missing, ...args]);
    expect([made.code, made.stderr.split('\n')[0]]).toEqual([4, `caliop-relay: error: the data folder ${missing} does not exist`]);
    expect(existsSync(missing)).toBe(false);
    const empty = join(scratch.path, 'empty-reset');
    mkdirSync(empty);
    expect((await run(['key-reset', '--data', empty, ...args])).code).toBe(4);
    expect(readdirSync(empty)).toEqual([]);
  });

  it('tls-report, likewise: a mistyped --data or a missing store is refused, nothing created (no store, no DKIM key)', async () => {
    const missing = join(scratch.path, 'nonexist-tls');
    const args = ['--domain', 'example.test', '--dry-run'];
    const made = await run(['tls-report', '--data', missing, ...args]);
    expect([made.code, made.stderr.split('\n')[0]]).toEqual([4, `caliop-relay: error: the data folder ${missing} does not exist`]);
    expect(existsSync(missing)).toBe(false);
    const empty = join(scratch.path, 'empty-tls');
    mkdirSync(empty);
    expect((await run(['tls-report', '--data', empty, ...args])).code).toBe(4);
    expect(readdirSync(empty)).toEqual([]);
  });

  it('disclosure-log never makes a key: without one it says so', async () => {
    const dir = await relayFolder();
    const log = await run(['disclosure-log', '--data', dir]);
    expect([log.code, log.stderr.split('\n')[0]]).toEqual([4, `caliop-relay: error: no disclosure key: ${join(dir, 'disclosure-key.pem')} does not exist, and the disclosure log is empty`]);
    expect(existsSync(join(dir, 'disclosure-key.pem'))).toBe(false);
  });
});

describe.skipIf(POSTGRES_URL === undefined)('on PostgreSQL (CALIOP_TEST_POSTGRES)', () => {
  it('a database without the relay schema is refused (exit 4) and left without one; the relay\'s own store opens', async () => {
    const name = `caliop_test_disclosure_${process.pid}`;
    const url = await ensureDatabase(name);
    try {
      const dir = join(scratch.path, 'pg-host');
      mkdirSync(dir);
      const made = await run(['disclosure', '--data', dir, '--store', url, '--address', 'alice@example.test', '--out', join(scratch.path, 'pg.json')]);
      expect([made.code, made.stderr.split('\n')[0]]).toEqual([4, `caliop-relay: error: no relay store in ${url}: the database has no relay schema`]);
      const log = await run(['disclosure-log', '--data', dir, '--store', url]);
      expect(log.code).toBe(4);
      // Still no schema: the refusal made none.
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const found = await client.query<{ found: string | null }>("SELECT to_regclass('schema_migrations')::text AS found");
      await client.end();
      expect(found.rows[0]?.found).toBeNull();
      const store = await PostgresRelayStore.open(url);
      try {
        expect(await store.disclosureLog()).toEqual([]);
        await store.createAccount(
          { address: alice.address, localPart: 'alice', wkdHash: 'x', cert: alice.privateKey.toPublic().write(), certFingerprint: 'F', devicePublicKey: alice.devicePublicKey, enrolledAt: '2026-11-30T10:00:00.000Z' },
          null,
        );
      } finally {
        await store.close();
      }
      const again = await run(['disclosure', '--data', dir, '--store', url, '--address', 'alice@example.test', '--out', join(scratch.path, 'pg.json')]);
      expect([again.code, again.stderr]).toEqual([0, '']);
    } finally {
      await dropDatabase(name);
    }
  });
});

describe('an address the relay holds nothing about (exit 5)', () => {
  it('is refused: no archive, no log line, no key', async () => {
    const dir = await relayFolder();
    const out = join(scratch.path, 'nobody.json');
    const made = await run(['disclosure', '--data', dir, '--address', 'nobody@example.test', '--out', out]);
    expect([made.code, made.stderr.split('\n')[0]]).toEqual([5, 'caliop-relay: error: the relay holds nothing about nobody@example.test: no account, no message, no log line']);
    expect(existsSync(out)).toBe(false);
    expect(await logLength(join(dir, 'relay.sqlite'))).toBe(0);
    expect(existsSync(join(dir, 'disclosure-key.pem'))).toBe(false);
    // The first disclosure of the deployment makes the key.
    const first = await run(['disclosure', '--data', dir, '--address', 'alice@example.test', '--out', join(scratch.path, 'alice-first.json')]);
    expect([first.code, first.stderr]).toEqual([0, '']);
    expect(readDisclosureKey(dir)).not.toBeNull();
  });
});

describe('two relay hosts on one store (docs/disclosure.md §5)', () => {
  it('a host without the first host\'s key refuses (exit 3) and appends nothing; with the key copied, one log', async () => {
    const hostA = await relayFolder();
    const storeFile = join(hostA, 'relay.sqlite');
    const hostB = join(scratch.path, 'host-b');
    mkdirSync(hostB);
    const store = ['--store', `sqlite:${storeFile}`];
    const onA = await run(['disclosure', '--data', hostA, '--address', 'alice@example.test', '--out', join(scratch.path, 'a1.json')]);
    expect(onA.code).toBe(0);
    const keyA = readDisclosureKey(hostA)?.publicKey;

    // B has no key: refused, and disclosure-log does not make one either.
    const noKey = await run(['disclosure', '--data', hostB, ...store, '--address', 'alice@example.test', '--out', join(scratch.path, 'b1.json')]);
    expect([noKey.code, ...firstLines(noKey.stderr)]).toEqual([
      3,
      `caliop-relay: error: the disclosure log (1 lines) is signed with the key ${keyA}, and this host has no disclosure key`,
      'caliop-relay: hint: every relay host of one store must use the same disclosure-key.pem: copy it from the first host\'s data folder (mode 0600), like the DKIM key (docs/disclosure.md §5)',
    ]);
    const logOnB = await run(['disclosure-log', '--data', hostB, ...store]);
    expect(logOnB.code).toBe(3);
    expect(existsSync(join(hostB, 'disclosure-key.pem'))).toBe(false);

    // B made its own key: refused, both keys named.
    const keyB = createDisclosureKey(hostB).publicKey;
    const otherKey = await run(['disclosure', '--data', hostB, ...store, '--address', 'alice@example.test', '--out', join(scratch.path, 'b2.json')]);
    expect([otherKey.code, otherKey.stderr.split('\n')[0]]).toEqual([3, `caliop-relay: error: the disclosure log is signed with the key ${keyA} (line 1), but this host's disclosure key is ${keyB}`]);
    expect(existsSync(join(scratch.path, 'b2.json'))).toBe(false);
    expect(await logLength(storeFile)).toBe(1);

    // The key copied from A: B appends, and the log verifies from both hosts.
    copyFileSync(join(hostA, 'disclosure-key.pem'), join(hostB, 'disclosure-key.pem'));
    const shared = await run(['disclosure', '--data', hostB, ...store, '--address', 'alice@example.test', '--out', join(scratch.path, 'b3.json')]);
    expect(shared.code).toBe(0);
    for (const [dir, args] of [[hostA, []], [hostB, store]] as const) {
      const log = await run(['disclosure-log', '--data', dir, ...args]);
      expect([log.code, log.stdout]).toEqual([0, expect.stringMatching(/^caliop-relay: disclosure log verified: 2 disclosures; /)]);
    }
  });
});

describe('--out that cannot be made fails before the log line', () => {
  it('a path in a missing folder: exit 4, the log unchanged', async () => {
    const dir = await relayFolder();
    const out = join(scratch.path, 'no-such-folder', 'alice.json');
    const made = await run(['disclosure', '--data', dir, '--address', 'alice@example.test', '--out', out]);
    expect([made.code, made.stderr.split('\n')[0]]).toEqual([4, `caliop-relay: error: cannot create --out ${out}: ENOENT`]);
    expect(await logLength(join(dir, 'relay.sqlite'))).toBe(0);
    const written = join(scratch.path, 'alice-out.json');
    expect((await run(['disclosure', '--data', dir, '--address', 'alice@example.test', '--out', written])).code).toBe(0);
    expect(await logLength(join(dir, 'relay.sqlite'))).toBe(1);
    expect(verifyArchive(readFileSync(written, 'utf8'), readDisclosureKey(dir)?.publicKey ?? '').address).toBe('alice@example.test');
  });
});

describe('--since', () => {
  it('refuses an impossible date and a date in the future (exit 2)', async () => {
    const dir = await relayFolder();
    for (const since of ['2026-02-30', '2026-13-01', '2026-04-31T10:00:00Z', '2026-01-01T24:30:00Z', '2999-01-01']) {
      const made = await run(['disclosure', '--data', dir, '--address', 'alice@example.test', '--since', since, '--out', join(scratch.path, 'since.json')]);
      expect([since, made.code]).toEqual([since, 2]);
      expect(made.stderr).toMatch(/^caliop-relay: error: --since /);
    }
    expect(await logLength(join(dir, 'relay.sqlite'))).toBe(0);
  });
});

describe('--until: an account split in periods (docs/disclosure.md §4, §4.3)', () => {
  it('--until, --since with --until and --since give disjoint parts whose union is the whole; each is logged with its bounds and the log verifies', async () => {
    const dir = await relayFolder();
    const store = SqliteRelayStore.open(join(dir, 'relay.sqlite'));
    const months = ['2026-01-10', '2026-02-10', '2026-03-10'];
    await store.storeMessages(months.map((day, index) => ({
      id: `m${index}`, sender: 'bob@example.test', recipients: [alice.address], size: 9, armoredMessage: `ciphertext-${day}`, entryIds: [`e${index}`],
      facts: { route: 'internal', receivedAt: `${day}T12:00:00.000Z`, submittedBy: 'bob@example.test', transport: { protocol: 'https', tlsVersion: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' } },
    })));
    await store.close();
    const parts: [string[], string[]][] = [
      [['--until', '2026-02-01'], ['m0']],
      [['--since', '2026-02-01', '--until', '2026-03-01T00:00:00+00:00'], ['m1']],
      [['--since', '2026-03-01'], ['m2']],
    ];
    let count = 0;
    for (const [bounds, ids] of parts) {
      const out = join(scratch.path, `period-${folders}-${++count}.json`);
      const made = await run(['disclosure', '--data', dir, '--address', 'alice@example.test', ...bounds, '--out', out]);
      expect([bounds, made.code, made.stderr]).toEqual([bounds, 0, '']);
      const body = verifyArchive(readFileSync(out, 'utf8'), readDisclosureKey(dir)?.publicKey ?? '');
      expect(body.messages.map((message) => message.id)).toEqual(ids);
      expect(body.until).toBe(bounds.includes('--until') ? new Date(bounds[bounds.indexOf('--until') + 1]!).toISOString() : undefined);
      expect(made.stdout).toMatch(/^ {2}period: from .* (up to .* \(excluded\)|to now)$/m);
    }
    const log = await run(['disclosure-log', '--data', dir]);
    expect([log.code, log.stdout]).toEqual([0, expect.stringMatching(/verified: 3 disclosures/)]);
    const reopened = SqliteRelayStore.open(join(dir, 'relay.sqlite'));
    const lines = (await reopened.disclosureLog()).map((row) => JSON.parse(row.entry) as { since: string | null; until?: string });
    await reopened.close();
    expect(lines.map((line) => [line.since, line.until])).toEqual([
      [null, '2026-02-01T00:00:00.000Z'],
      ['2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'],
      ['2026-03-01T00:00:00.000Z', undefined],
    ]);
  });

  it('an empty or impossible period is refused (exit 2) and not logged; --until may name a day to come', async () => {
    const dir = await relayFolder();
    for (const bounds of [['--since', '2026-02-01', '--until', '2026-02-01'], ['--since', '2026-03-01', '--until', '2026-02-01'], ['--until', '2026-02-30']]) {
      const made = await run(['disclosure', '--data', dir, '--address', 'alice@example.test', ...bounds, '--out', join(scratch.path, 'empty-period.json')]);
      expect([bounds, made.code]).toEqual([bounds, 2]);
      expect(made.stderr).toMatch(/^caliop-relay: error: --until /);
    }
    expect(await logLength(join(dir, 'relay.sqlite'))).toBe(0);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const made = await run(['disclosure', '--data', dir, '--address', 'alice@example.test', '--until', tomorrow, '--out', join(scratch.path, 'to-tomorrow.json')]);
    expect(made.code).toBe(0);
  });
});

describe('an archive too large for one piece', () => {
  it('is refused before its file and its log line, with a clear error (not the engine RangeError)', async () => {
    const dir = await relayFolder();
    const store = SqliteRelayStore.open(join(dir, 'relay.sqlite'));
    const opened: string[] = [];
    try {
      await expect(
        makeDisclosure(
          store,
          { existing: null, create: () => createDisclosureKey(dir) },
          { address: 'alice@example.test', since: null, now: new Date(), logLines: [] },
          { open: () => opened.push('open'), write: () => opened.push('write'), abandon: () => opened.push('abandon') },
          100,
        ),
      ).rejects.toThrow(/^the archive about alice@example\.test is too large to make in one piece \(1 MiB of content, at most 0 MiB\)$/);
      expect(opened).toEqual([]);
      expect(await store.disclosureLog()).toEqual([]);
    } finally {
      await store.close();
    }
  });

});

describe('docs/disclosure.md §7', () => {
  it('lists exactly the exit codes of RELAY_COMMAND_EXIT, with 0 and 1', () => {
    const doc = readFileSync(join(import.meta.dirname, '../../docs/disclosure.md'), 'utf8');
    const section = doc.split('## 7. Exit codes')[1] ?? '';
    const documented = [...section.matchAll(/^\| (\d+) \|/gm)].map((match) => Number(match[1]));
    expect(documented).toEqual([0, 1, ...Object.values(RELAY_COMMAND_EXIT)].sort((a, b) => a - b));
  });
});
