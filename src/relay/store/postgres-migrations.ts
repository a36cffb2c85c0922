// The relay's schema on PostgreSQL, as an ordered list of migrations (the same story
// as migrations.ts for SQLite: never edited once released, a change is a new entry).
// Why these tables, keys and indexes: docs/decisions/relay-store.md.

import type { Migration } from './migrations.js';

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, messages, mailbox, nonces, invites',
    sql: `
      CREATE TABLE accounts (
        address text PRIMARY KEY,
        local_part text NOT NULL,
        wkd_hash text NOT NULL,
        cert bytea NOT NULL,                -- binary OpenPGP certificate (public only)
        cert_fingerprint text NOT NULL,
        device_public_key bytea NOT NULL UNIQUE,
        enrolled_at text NOT NULL,
        -- The last mailbox cursor given to this account. Taken under this row's lock,
        -- so one recipient's cursors commit in increasing order across relay processes.
        mailbox_seq bigint NOT NULL DEFAULT 0
      );
      CREATE INDEX accounts_wkd_hash ON accounts (wkd_hash);

      CREATE TABLE messages (
        id text PRIMARY KEY,
        sender text NOT NULL,
        recipients text NOT NULL,           -- JSON array of addresses
        size integer NOT NULL,
        facts text NOT NULL,                -- JSON, docs/api.md §8.3
        armored_message text NOT NULL
      );

      CREATE TABLE mailbox (
        recipient text NOT NULL REFERENCES accounts (address),
        seq bigint NOT NULL,
        id text NOT NULL UNIQUE,
        message_id text NOT NULL REFERENCES messages (id),
        PRIMARY KEY (recipient, seq)
      );
      CREATE INDEX mailbox_message ON mailbox (message_id);

      -- UNLOGGED: no WAL, no fsync; emptied if PostgreSQL itself crashes (the same
      -- trade as SQLite's before issue 14: a crash forgets the last window's nonces).
      CREATE UNLOGGED TABLE nonces (
        device_public_key bytea NOT NULL,
        nonce text NOT NULL,
        expires_at bigint NOT NULL,         -- Unix seconds
        PRIMARY KEY (device_public_key, nonce)
      );
      CREATE INDEX nonces_expiry ON nonces (expires_at);

      CREATE TABLE used_invites (
        token_sha256 text PRIMARY KEY,
        address text NOT NULL,
        used_at text NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'disclosure log (docs/disclosure.md §5)',
    sql: `
      -- One row per disclosure: the JSON line, hash-chained to the previous one and signed.
      CREATE TABLE disclosure_log (
        seq integer PRIMARY KEY,
        entry text NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'devices: several sticks per account, each with its mailbox cursor (docs/api.md §6.4, §8.9)',
    sql: `
      CREATE TABLE devices (
        device_public_key bytea PRIMARY KEY,
        address text NOT NULL REFERENCES accounts (address),
        name text NOT NULL,
        enrolled_at text NOT NULL,
        last_seen_at text,
        revoked_at text,
        acked_seq bigint NOT NULL DEFAULT 0,    -- docs/api.md §8.9: the last cursor this device acknowledged
        UNIQUE (address, name)
      );
      CREATE INDEX devices_address ON devices (address);
      -- accounts.device_public_key stays: the first device, as enrolled.
      INSERT INTO devices (device_public_key, address, name, enrolled_at)
        SELECT device_public_key, address, 'stick-1', enrolled_at FROM accounts;
    `,
  },
  {
    version: 4,
    name: 'submissions remembered by idempotency key (docs/api.md §8.10)',
    sql: `
      CREATE TABLE submissions (
        sender text NOT NULL,
        idempotency_key text NOT NULL,
        request_sha256 text NOT NULL,       -- hex SHA-256 of the request body
        response text NOT NULL,             -- JSON: the 2xx body answered
        created_at bigint NOT NULL,         -- Unix seconds
        PRIMARY KEY (sender, idempotency_key)
      );
      CREATE INDEX submissions_created ON submissions (created_at);
    `,
  },
  {
    version: 5,
    name: 'outbound queue (docs/gateway.md §4.7)',
    sql: `
      -- A message to outside addresses the smarthost deferred: kept, DKIM-signed as it
      -- will be sent, until delivered or bounced back to its sender.
      CREATE TABLE outbound_queue (
        id text PRIMARY KEY,
        sender text NOT NULL,
        recipients text NOT NULL,           -- JSON array of addresses
        message bytea NOT NULL,
        exposed boolean NOT NULL,
        created_at text NOT NULL,
        give_up_at text NOT NULL,
        attempts integer NOT NULL,
        next_attempt_at text NOT NULL,
        last_error text NOT NULL,
        -- A relay process working on it until then (others skip it); '' when none.
        claimed_until text NOT NULL DEFAULT ''
      );
      CREATE INDEX outbound_queue_due ON outbound_queue (next_attempt_at);
    `,
  },
  {
    version: 7,
    name: 'outbound queue: delivery only under a TLS policy (docs/gateway.md §4.8)',
    sql: `
      -- true: deliver only to an MX whose TLS a policy guarantees (DANE or MTA-STS enforce), docs/api.md §8.7 requireTlsFor.
      ALTER TABLE outbound_queue ADD COLUMN require_tls boolean NOT NULL DEFAULT false;
    `,
  },
  {
    version: 8,
    name: 'key changes: a new key for an enrolled address, announced (docs/api.md §6.6, §7.1)',
    sql: `
      ALTER TABLE accounts ADD COLUMN previous_cert bytea;
      ALTER TABLE accounts ADD COLUMN key_changed_at text;
      CREATE TABLE key_change_permits (
        address text PRIMARY KEY REFERENCES accounts (address),
        new_fingerprint text NOT NULL,
        opened_at text NOT NULL,
        expires_at text NOT NULL
      );
    `,
  },
  {
    version: 9,
    name: 'large ciphertexts in chunks, streamed in (docs/api.md §8.2.1)',
    sql: `
      ALTER TABLE messages ADD COLUMN chunks integer NOT NULL DEFAULT 0;
      CREATE TABLE message_chunks (
        message_id text NOT NULL,
        seq integer NOT NULL,
        bytes bytea NOT NULL,
        created_at bigint NOT NULL,
        PRIMARY KEY (message_id, seq)
      );
      CREATE FUNCTION caliop_erase_message_chunks() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN DELETE FROM message_chunks WHERE message_id = OLD.id; RETURN OLD; END
      $$;
      CREATE TRIGGER messages_erase_chunks AFTER DELETE ON messages FOR EACH ROW EXECUTE FUNCTION caliop_erase_message_chunks();
    `,
  },
  {
    version: 10,
    name: 'outbound delivery reports (docs/api.md §8.12)',
    sql: `
      CREATE TABLE outbound_reports (
        id text PRIMARY KEY,
        sender text NOT NULL,
        state text NOT NULL,                -- delivered | bounced
        at text NOT NULL,                   -- ISO 8601
        detail text NOT NULL                -- delivered: the facts (JSON); bounced: the reason
      );
      CREATE INDEX outbound_reports_sender ON outbound_reports (sender);
      CREATE INDEX outbound_reports_at ON outbound_reports (at);
    `,
  },
  {
    version: 11,
    name: 'outbound messages in chunks, streamed in (docs/api.md §8.7.1)',
    sql: `
      ALTER TABLE outbound_queue ADD COLUMN chunks integer NOT NULL DEFAULT 0;
      CREATE TRIGGER outbound_queue_erase_chunks AFTER DELETE ON outbound_queue FOR EACH ROW EXECUTE FUNCTION caliop_erase_message_chunks();
    `,
  },
  {
    version: 12,
    name: 'TLS reporting counts (docs/gateway.md §4.9, RFC 8460)',
    sql: `
      -- Sessions with recipient MX hosts per UTC day, policy and result; names no sender or recipient.
      CREATE TABLE tls_rpt_sessions (
        day text NOT NULL,                  -- YYYY-MM-DD (UTC)
        policy_domain text NOT NULL,
        policy_type text NOT NULL,          -- sts | tlsa | no-policy-found
        policy_strings text NOT NULL,       -- JSON array
        mx_hosts text NOT NULL,             -- JSON array
        result text NOT NULL,               -- success | an RFC 8460 §4.3 failure type
        sending_ip text NOT NULL,
        receiving_mx text NOT NULL,
        receiving_ip text NOT NULL,
        count integer NOT NULL,
        PRIMARY KEY (day, policy_domain, policy_type, policy_strings, mx_hosts, result, sending_ip, receiving_mx, receiving_ip)
      );
      -- One report per day and policy domain, ever.
      CREATE TABLE tls_rpt_reports (
        day text NOT NULL,
        policy_domain text NOT NULL,
        report_id text NOT NULL UNIQUE,
        sent_at text NOT NULL,
        PRIMARY KEY (day, policy_domain)
      );
    `,
  },
  {
    version: 13,
    name: 'uploads in chunks by start time, so the purge of abandoned ones reads only them (issue 14)',
    sql: `
      -- The same as SQLite's migration 13 (migrations.ts): the purge of abandoned chunks read
      -- every row of message_chunks (no index on created_at).
      CREATE TABLE chunk_uploads (
        id text PRIMARY KEY,                -- message_chunks.message_id
        created_at bigint NOT NULL          -- Unix seconds: the first chunk
      );
      CREATE INDEX chunk_uploads_created ON chunk_uploads (created_at);
      INSERT INTO chunk_uploads (id, created_at)
        SELECT message_id, MIN(created_at) FROM message_chunks
        WHERE NOT EXISTS (SELECT 1 FROM messages WHERE messages.id = message_chunks.message_id)
          AND NOT EXISTS (SELECT 1 FROM outbound_queue WHERE outbound_queue.id = message_chunks.message_id)
        GROUP BY message_id;
    `,
  },
  {
    version: 14,
    name: 'TLS-RPT reports posted over HTTPS, retried for 24 hours (docs/gateway.md §4.9.1, RFC 8460 §5.4)',
    sql: `
      -- The same as SQLite's migration 14 (migrations.ts).
      CREATE TABLE tls_rpt_posts (
        id text PRIMARY KEY,
        report_id text NOT NULL,
        policy_domain text NOT NULL,
        url text NOT NULL,
        body bytea NOT NULL,                -- the gzipped report
        created_at text NOT NULL,
        give_up_at text NOT NULL,           -- created_at + 24 h
        attempts integer NOT NULL,
        next_attempt_at text NOT NULL,      -- also the lease of the process trying it
        last_error text NOT NULL
      );
      CREATE INDEX tls_rpt_posts_due ON tls_rpt_posts (next_attempt_at);
    `,
  },
  {
    version: 15,
    name: 'relay sessions, public facts only (docs/api.md §4.6, docs/disclosure.md)',
    sql: `
      -- The same as SQLite's migration 15 (migrations.ts).
      CREATE TABLE sessions (
        id text PRIMARY KEY,
        device_public_key bytea NOT NULL,
        client_share text NOT NULL,
        secret_id text NOT NULL,
        opening integer NOT NULL,
        opened_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        closed_at bigint
      );
      CREATE INDEX sessions_device ON sessions (device_public_key, opening);
      CREATE INDEX sessions_expiry ON sessions (expires_at);
    `,
  },
  {
    version: 16,
    name: 'keys every relay process must share, by their public digest (docs/gateway.md §4.6)',
    sql: `
      -- The same as SQLite's migration 16 (migrations.ts).
      CREATE TABLE shared_keys (
        name text PRIMARY KEY,
        public_digest text NOT NULL,
        first_at text NOT NULL
      );
    `,
  },
];
