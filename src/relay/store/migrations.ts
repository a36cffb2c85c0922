// The relay database's schema, as an ordered list of migrations (docs/decisions/relay.md).
// A migration is never edited once released: a change is a new entry at the end.

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, messages, mailbox, nonces, invites',
    sql: `
      CREATE TABLE accounts (
        address TEXT PRIMARY KEY,
        local_part TEXT NOT NULL,
        wkd_hash TEXT NOT NULL,
        cert BLOB NOT NULL,                 -- binary OpenPGP certificate (public only)
        cert_fingerprint TEXT NOT NULL,
        device_public_key BLOB NOT NULL UNIQUE,
        enrolled_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX accounts_wkd_hash ON accounts (wkd_hash);

      -- One row per submission: the ciphertext exactly as the sender made it, and
      -- only the metadata of docs/api.md §8.2 (no subject, no headers).
      CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        sender TEXT NOT NULL,
        recipients TEXT NOT NULL,           -- JSON array of addresses
        size INTEGER NOT NULL,
        facts TEXT NOT NULL,                -- JSON, docs/api.md §8.3
        armored_message TEXT NOT NULL
      ) STRICT;

      -- One row per recipient: what GET /v1/messages lists. seq is the cursor.
      CREATE TABLE mailbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        recipient TEXT NOT NULL REFERENCES accounts (address),
        message_id TEXT NOT NULL REFERENCES messages (id)
      ) STRICT;
      CREATE INDEX mailbox_recipient_seq ON mailbox (recipient, seq);
      CREATE INDEX mailbox_message ON mailbox (message_id);

      -- docs/api.md §4.3: nonces seen, kept until their timestamp leaves the window.
      CREATE TABLE nonces (
        device_public_key BLOB NOT NULL,
        nonce TEXT NOT NULL,
        expires_at INTEGER NOT NULL,        -- Unix seconds
        PRIMARY KEY (device_public_key, nonce)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX nonces_expiry ON nonces (expires_at);

      -- docs/api.md §6.3: invite tokens already used (the unused ones live in the --invite-tokens file).
      CREATE TABLE used_invites (
        token_sha256 TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        used_at TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'nonces move to their own file, not fsynced (docs/decisions/relay-store.md)',
    sql: 'DROP TABLE nonces;',
  },
  {
    version: 3,
    name: 'disclosure log (docs/disclosure.md §5)',
    sql: `
      -- One row per disclosure: the JSON line, hash-chained to the previous one and signed.
      CREATE TABLE disclosure_log (
        seq INTEGER PRIMARY KEY,
        entry TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 4,
    name: 'devices: several sticks per account, each with its mailbox cursor (docs/api.md §6.4, §8.9)',
    sql: `
      CREATE TABLE devices (
        device_public_key BLOB PRIMARY KEY,
        address TEXT NOT NULL REFERENCES accounts (address),
        name TEXT NOT NULL,
        enrolled_at TEXT NOT NULL,
        last_seen_at TEXT,
        revoked_at TEXT,
        acked_seq INTEGER NOT NULL DEFAULT 0,  -- docs/api.md §8.9: the last cursor this device acknowledged
        UNIQUE (address, name)
      ) STRICT;
      -- accounts.device_public_key stays: the first device, as enrolled.
      INSERT INTO devices (device_public_key, address, name, enrolled_at)
        SELECT device_public_key, address, 'stick-1', enrolled_at FROM accounts;
    `,
  },
  {
    version: 5,
    name: 'submissions remembered by idempotency key (docs/api.md §8.10)',
    sql: `
      -- docs/api.md §8.10: the answer given to a submission, by its sender and key, so a
      -- retry of the same submission is answered again instead of delivered twice.
      CREATE TABLE submissions (
        sender TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        request_sha256 TEXT NOT NULL,       -- hex SHA-256 of the request body
        response TEXT NOT NULL,             -- JSON: the 2xx body answered
        created_at INTEGER NOT NULL,        -- Unix seconds
        PRIMARY KEY (sender, idempotency_key)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX submissions_created ON submissions (created_at);
    `,
  },
  {
    version: 6,
    name: 'outbound queue (docs/gateway.md §4.7)',
    sql: `
      -- A message to outside addresses the smarthost deferred: kept, DKIM-signed as it
      -- will be sent, until delivered or bounced back to its sender.
      CREATE TABLE outbound_queue (
        id TEXT PRIMARY KEY,
        sender TEXT NOT NULL,
        recipients TEXT NOT NULL,           -- JSON array of addresses
        message BLOB NOT NULL,
        exposed INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        give_up_at TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT NOT NULL,
        claimed_until TEXT NOT NULL DEFAULT ''
      ) STRICT;
      CREATE INDEX outbound_queue_due ON outbound_queue (next_attempt_at);
    `,
  },
  {
    version: 7,
    name: 'outbound queue: delivery only under a TLS policy (docs/gateway.md §4.8)',
    sql: `
      -- 1: deliver only to an MX whose TLS a policy guarantees (DANE or MTA-STS enforce), docs/api.md §8.7 requireTlsFor.
      ALTER TABLE outbound_queue ADD COLUMN require_tls INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 8,
    name: 'key changes: a new key for an enrolled address, announced (docs/api.md §6.6, §7.1)',
    sql: `
      -- docs/api.md §6.6: the key the account had before its last key change, and when.
      ALTER TABLE accounts ADD COLUMN previous_cert BLOB;
      ALTER TABLE accounts ADD COLUMN key_changed_at TEXT;
      -- docs/api.md §6.6: the one new key (by fingerprint) the operator lets take an enrolled address, until expires_at.
      CREATE TABLE key_change_permits (
        address TEXT PRIMARY KEY REFERENCES accounts (address),
        new_fingerprint TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 9,
    name: 'large ciphertexts in chunks, streamed in (docs/api.md §8.2.1)',
    sql: `
      -- docs/api.md §8.2.1: a streamed ciphertext is kept in chunks (1 MiB), written as the
      -- body arrives; messages.chunks counts them (0: the ciphertext is whole in armored_message).
      ALTER TABLE messages ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE message_chunks (
        message_id TEXT NOT NULL,           -- messages.id (the row comes last, at the commit)
        seq INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        created_at INTEGER NOT NULL,        -- Unix seconds: chunks of an upload never committed are purged
        PRIMARY KEY (message_id, seq)
      ) STRICT;
      -- A ciphertext goes with its message, whichever deletion removes it.
      CREATE TRIGGER messages_erase_chunks AFTER DELETE ON messages BEGIN
        DELETE FROM message_chunks WHERE message_id = OLD.id;
      END;
    `,
  },
  {
    version: 10,
    name: 'outbound delivery reports (docs/api.md §8.12)',
    sql: `
      -- What became of a queued outbound message, for its sender's stick: kept 30 days.
      CREATE TABLE outbound_reports (
        id TEXT PRIMARY KEY,
        sender TEXT NOT NULL,
        state TEXT NOT NULL,                -- delivered | bounced
        at TEXT NOT NULL,                   -- ISO 8601
        detail TEXT NOT NULL                -- delivered: the facts (JSON); bounced: the reason
      ) STRICT;
      CREATE INDEX outbound_reports_sender ON outbound_reports (sender);
      CREATE INDEX outbound_reports_at ON outbound_reports (at);
    `,
  },
  {
    version: 11,
    name: 'outbound messages in chunks, streamed in (docs/api.md §8.7.1)',
    sql: `
      -- docs/api.md §8.7.1: a streamed outbound message waits in message_chunks under its queue id;
      -- outbound_queue.message then holds only the DKIM-Signature field put on top of it.
      ALTER TABLE outbound_queue ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0;
      CREATE TRIGGER outbound_queue_erase_chunks AFTER DELETE ON outbound_queue BEGIN
        DELETE FROM message_chunks WHERE message_id = OLD.id;
      END;
    `,
  },
  {
    version: 12,
    name: 'TLS reporting counts (docs/gateway.md §4.9, RFC 8460)',
    sql: `
      -- Sessions with recipient MX hosts per UTC day, policy and result; names no sender or recipient.
      CREATE TABLE tls_rpt_sessions (
        day TEXT NOT NULL,                  -- YYYY-MM-DD (UTC)
        policy_domain TEXT NOT NULL,
        policy_type TEXT NOT NULL,          -- sts | tlsa | no-policy-found
        policy_strings TEXT NOT NULL,       -- JSON array
        mx_hosts TEXT NOT NULL,             -- JSON array
        result TEXT NOT NULL,               -- success | an RFC 8460 §4.3 failure type
        sending_ip TEXT NOT NULL,
        receiving_mx TEXT NOT NULL,
        receiving_ip TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (day, policy_domain, policy_type, policy_strings, mx_hosts, result, sending_ip, receiving_mx, receiving_ip)
      ) STRICT;
      -- One report per day and policy domain, ever.
      CREATE TABLE tls_rpt_reports (
        day TEXT NOT NULL,
        policy_domain TEXT NOT NULL,
        report_id TEXT NOT NULL UNIQUE,
        sent_at TEXT NOT NULL,
        PRIMARY KEY (day, policy_domain)
      ) STRICT;
    `,
  },
  {
    version: 13,
    name: 'uploads in chunks by start time, so the purge of abandoned ones reads only them (issue 14)',
    sql: `
      -- docs/api.md §8.2.1, §8.7.1: one row per chunked upload (a streamed message, an outbound
      -- upload, a queued item's copy) from its first chunk until the purge of abandoned chunks
      -- has looked at it (ABANDONED_CHUNKS_AFTER_S later). That purge runs after every streamed
      -- send and read every chunk of every stored and queued message (no index on
      -- message_chunks.created_at, and in SQLite created_at lies after the 1 MiB blob).
      CREATE TABLE chunk_uploads (
        id TEXT PRIMARY KEY,                -- message_chunks.message_id
        created_at INTEGER NOT NULL         -- Unix seconds: the first chunk
      ) STRICT, WITHOUT ROWID;
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
      -- One row per report and https: rua, written with the report's claim, until the POST is
      -- answered 2xx or 24 hours have passed. Names no sender or recipient: the report's
      -- counts only (docs/disclosure.md §1).
      CREATE TABLE tls_rpt_posts (
        id TEXT PRIMARY KEY,
        report_id TEXT NOT NULL,
        policy_domain TEXT NOT NULL,
        url TEXT NOT NULL,
        body BLOB NOT NULL,                 -- the gzipped report
        created_at TEXT NOT NULL,
        give_up_at TEXT NOT NULL,           -- created_at + 24 h
        attempts INTEGER NOT NULL,
        next_attempt_at TEXT NOT NULL,      -- also the lease of the process trying it
        last_error TEXT NOT NULL
      ) STRICT;
      CREATE INDEX tls_rpt_posts_due ON tls_rpt_posts (next_attempt_at);
    `,
  },
  {
    version: 15,
    name: 'relay sessions, public facts only (docs/api.md §4.6, docs/disclosure.md)',
    sql: `
      -- One row per session from its opening until the purge after its expiry (at most 15 min
      -- plus the purge interval). No key: K is derived again from the relay's session secret
      -- (a file outside the database), the id and the client's share (docs/decisions/relay-sessions.md).
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,                -- 16 random bytes, base64url
        device_public_key BLOB NOT NULL,    -- the device that opened it
        client_share TEXT NOT NULL,         -- the device's X25519 public key, base64url
        secret_id TEXT NOT NULL,            -- which session secret the relay's share comes from
        opening INTEGER NOT NULL,           -- the device's n-th session among those kept: "oldest" is the lowest
        opened_at INTEGER NOT NULL,         -- Unix seconds
        expires_at INTEGER NOT NULL,        -- opened_at + 900
        closed_at INTEGER                   -- NULL while open
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX sessions_device ON sessions (device_public_key, opening);
      CREATE INDEX sessions_expiry ON sessions (expires_at);
    `,
  },
  {
    version: 16,
    name: 'keys every relay process must share, by their public digest (docs/gateway.md §4.6)',
    sql: `
      -- One row per key name (dkim:SELECTOR), written by the first process that starts with it:
      -- the SHA-256 of what the DNS publishes for it, never a private key. A process whose key
      -- under the same name differs refuses to start, so no relay signs what the record cannot verify.
      CREATE TABLE shared_keys (
        name TEXT PRIMARY KEY,
        public_digest TEXT NOT NULL,        -- hex SHA-256 of the public record
        first_at TEXT NOT NULL              -- when the first process started with it
      ) STRICT, WITHOUT ROWID;
    `,
  },
];
