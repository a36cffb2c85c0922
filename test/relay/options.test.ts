// caliop-relay's command line (docs/api.md §10) and its database migrations.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRelayOptions, RelayUsageError } from '../../src/relay/options.js';
import { migrate, openRelayDatabase } from '../../src/relay/store/database.js';
import { MIGRATIONS } from '../../src/relay/store/migrations.js';
import { RELAY_MAIN } from './helpers/relay-process.js';

const base = ['--data', '/srv/relay', '--domain', 'Example.ORG'];

describe('parseRelayOptions', () => {
  it('parses the production form', () => {
    const options = parseRelayOptions([...base, '--listen', '[::]:443', '--tls-cert', 'c.pem', '--tls-key', 'k.pem']);
    expect(options).toMatchObject({ host: '::', port: 443, domain: 'example.org', tls: { kind: 'files', certFile: 'c.pem', keyFile: 'k.pem' }, inviteTokensFile: null });
  });

  it('takes limits, within the protocol ceilings', () => {
    const options = parseRelayOptions([...base, '--listen', '127.0.0.1:0', '--dev-tls', '--max-message-bytes', '1000', '--rate-burst', '3']);
    expect(options).toMatchObject({ port: 0, tls: { kind: 'dev' }, limits: { maxMessageBytes: 1000, rateBurst: 3 } });
    expect(() => parseRelayOptions([...base, '--listen', '127.0.0.1:0', '--dev-tls', '--max-page-size', '5000'])).toThrow(/1 to 1000/);
    expect(() => parseRelayOptions([...base, '--listen', '127.0.0.1:0', '--dev-tls', '--rate-burst', '0'])).toThrow(RelayUsageError);
  });

  it('--store / CALIOP_RELAY_STORE: PostgreSQL by URL, SQLite by default (the flag wins over the variable)', () => {
    const common = [...base, '--listen', '127.0.0.1:0', '--dev-tls'];
    expect(parseRelayOptions(common)).toMatchObject({ store: { kind: 'sqlite', file: null } });
    expect(parseRelayOptions([...common, '--store', 'postgres://relay@db.internal/caliop'])).toMatchObject({ store: { kind: 'postgres', url: 'postgres://relay@db.internal/caliop' } });
    expect(parseRelayOptions(common, { CALIOP_RELAY_STORE: 'postgresql://relay@db/c' })).toMatchObject({ store: { kind: 'postgres', url: 'postgresql://relay@db/c' } });
    expect(parseRelayOptions([...common, '--store', 'sqlite:/srv/x.sqlite'], { CALIOP_RELAY_STORE: 'postgres://db/c' })).toMatchObject({ store: { kind: 'sqlite', file: '/srv/x.sqlite' } });
    expect(() => parseRelayOptions([...common, '--store', 'mysql://db/c'])).toThrow(/--store must be postgres/);
    expect(() => parseRelayOptions(common, { CALIOP_RELAY_STORE: 'nonsense' })).toThrow(/CALIOP_RELAY_STORE/);
  });

  it('--release-fingerprint / CALIOP_RELAY_RELEASE_FINGERPRINT: v4 or v6 hex, normalised; anything else refused', () => {
    const common = [...base, '--listen', '127.0.0.1:0', '--dev-tls'];
    const v4 = 'AB12'.repeat(10);
    expect(parseRelayOptions(common)).toMatchObject({ releaseFingerprint: null });
    expect(parseRelayOptions([...common, '--release-fingerprint', v4.toLowerCase().replace(/(.{4})/g, '$1 ')])).toMatchObject({ releaseFingerprint: v4 });
    expect(parseRelayOptions([...common, '--release-fingerprint', 'c'.repeat(64)])).toMatchObject({ releaseFingerprint: 'C'.repeat(64) });
    expect(parseRelayOptions(common, { CALIOP_RELAY_RELEASE_FINGERPRINT: v4 })).toMatchObject({ releaseFingerprint: v4 });
    expect(parseRelayOptions([...common, '--release-fingerprint', 'D'.repeat(40)], { CALIOP_RELAY_RELEASE_FINGERPRINT: v4 })).toMatchObject({ releaseFingerprint: 'D'.repeat(40) });
    expect(() => parseRelayOptions([...common, '--release-fingerprint', 'A'.repeat(39)])).toThrow(/--release-fingerprint must be 40 or 64 hexadecimal digits$/);
    expect(() => parseRelayOptions([...common, '--release-fingerprint', 'G'.repeat(40)])).toThrow(/40 or 64/);
    expect(() => parseRelayOptions(common, { CALIOP_RELAY_RELEASE_FINGERPRINT: 'A'.repeat(50) })).toThrow(/CALIOP_RELAY_RELEASE_FINGERPRINT/);
  });

  it('refuses what would be unsafe or ambiguous', () => {
    const refused = [
      [...base, '--listen', '0.0.0.0:8080', '--insecure-http'], // plain HTTP off loopback
      [...base, '--listen', '127.0.0.1:0'], // no TLS choice
      [...base, '--listen', '127.0.0.1:0', '--dev-tls', '--insecure-http'],
      [...base, '--listen', '127.0.0.1:0', '--tls-cert', 'c.pem'],
      [...base, '--listen', '127.0.0.1', '--dev-tls'],
      [...base, '--listen', '127.0.0.1:70000', '--dev-tls'],
      ['--data', 'd', '--domain', 'not a domain', '--listen', '127.0.0.1:0', '--dev-tls'],
      [...base, '--listen', '127.0.0.1:0', '--dev-tls', '--password', 'x'],
    ];
    for (const argv of refused) expect(() => parseRelayOptions(argv), argv.join(' ')).toThrow(RelayUsageError);
  });

  it('the real process exits 2 with a usage message on a bad command line', () => {
    const result = spawnSync(process.execPath, [RELAY_MAIN, '--listen', '127.0.0.1:0'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^caliop-relay: error: --data DIR is required\nusage: caliop-relay/);
    expect(execFileSync(process.execPath, [RELAY_MAIN, '--help'], { encoding: 'utf8' })).toMatch(/^usage: caliop-relay/);
  });
});

describe('database migrations', () => {
  it('apply once, in order, and a newer database is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caliop-relay-db-'));
    try {
      const file = join(dir, 'relay.sqlite');
      const db = openRelayDatabase(file);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(migrate(db, MIGRATIONS)).toEqual([]);
      const next = MIGRATIONS.length + 1;
      const extra = { version: next, name: 'test column', sql: 'ALTER TABLE accounts ADD COLUMN note TEXT' };
      expect(migrate(db, [...MIGRATIONS, extra])).toEqual([next]);
      expect(db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all()).toEqual([...MIGRATIONS.map((m) => m.version), next]);
      db.close();
      expect(() => openRelayDatabase(file)).toThrow(/newer than this caliop-relay knows/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a failing migration leaves no trace', () => {
    const db = openRelayDatabase(':memory:');
    const broken = { version: MIGRATIONS.length + 1, name: 'broken', sql: 'CREATE TABLE t (x); SELECT * FROM missing_table' };
    expect(() => migrate(db, [...MIGRATIONS, broken])).toThrow();
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 't'").all()).toEqual([]);
    expect(db.prepare('SELECT max(version) FROM schema_migrations').pluck().get()).toBe(MIGRATIONS.length);
    db.close();
  });
});
