// The worker thread of wal-eraser.ts: its own connection to the relay database,
// running wal_checkpoint(TRUNCATE) when asked.

import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const db = new Database((workerData as { file: string }).file);
db.pragma('busy_timeout = 5000');
parentPort?.on('message', () => {
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch {
    // Busy past the timeout: the next request checkpoints again.
  }
});
