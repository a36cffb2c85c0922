// The worker thread of wal-eraser.ts: its own connection to the relay database,
// running wal_checkpoint(TRUNCATE) on it and its nonce file when asked.

import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const { file } = workerData as { file: string };
const db = new Database(file);
db.pragma('busy_timeout = 5000');
// A checkpoint syncs the WAL before copying it and the database after: the relay's own
// connection commits without syncing (wal-sync.ts), so this one must.
db.pragma('synchronous = FULL');
// The nonce file (database.ts, attachNonces) is checkpointed with the main one.
db.prepare('ATTACH DATABASE ? AS volatile').run(`${file}-nonces`);
parentPort?.on('message', () => {
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch {
    // Busy past the timeout: the next request checkpoints again.
  }
});
