// The program of a sync worker thread (src/service/mail-open.ts): receives the unlocked
// private key once, in memory (docs/architecture.md §Worker threads), then opens one
// message per job. It ends when sync closes the pool.
import * as openpgp from 'openpgp';
import { serveInWorker } from '../edges/worker-pool.js';
import { openArrival, type MailOpenInit, type OpenedArrival } from './mail-open.js';

await serveInWorker<MailOpenInit, string, OpenedArrival>(async (init) => {
  const privateKey = await openpgp.readPrivateKey({ binaryKey: init.privateKey.slice() });
  init.privateKey.fill(0);
  return (armoredMessage) => openArrival(privateKey, armoredMessage);
});
