// The worker thread of wal-eraser.ts: its own connection to the relay database,
// running wal_checkpoint(TRUNCATE) on it (PASSIVE on its nonce file) when asked.

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
    // TRUNCATE for the database (deleted ciphertext leaves the WAL); PASSIVE for the nonce
    // file, which holds no ciphertext: it never holds off the relay's nonce writes.
    db.pragma('main.wal_checkpoint(TRUNCATE)');
    db.pragma('volatile.wal_checkpoint(PASSIVE)');
  } catch {
    // Busy past the timeout: the next request checkpoints again.
  }
  // The relay holds its writes while this runs (wal-eraser.ts, idle()).
  parentPort?.postMessage('done');
});
