// A backlog of waiting messages put straight into a relay's SQLite database: submitting
// thousands through the API would itself take minutes under the rate limit. Each message
// arrives one second after the previous one over the internal route (docs/exposure.md §4).
import { join } from 'node:path';
import type { ArrivalFacts } from '../../src/api/facts.js';
import { SqliteRelayStore } from '../../src/relay/store/sqlite-store.js';

export interface Backlog {
  sender: string;
  recipient: string;
  count: number;
  /** The armored ciphertext of message `index` (the same one may serve every index). */
  armoredMessage: (index: number) => string | Promise<string>;
}

/** Stores `count` messages for `recipient` in the relay whose data folder is `relayDataDir`, in one write. */
export async function storeBacklog(relayDataDir: string, { sender, recipient, count, armoredMessage }: Backlog): Promise<void> {
  const store = await SqliteRelayStore.open(join(relayDataDir, 'relay.sqlite'));
  const messages = [];
  for (let i = 0; i < count; i++) {
    const armored = await armoredMessage(i);
    const facts = { route: 'internal', receivedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), submittedBy: sender, transport: { protocol: 'https', tlsVersion: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' } } satisfies ArrivalFacts;
    messages.push({ id: `m${String(i).padStart(21, '0')}`, sender, recipients: [recipient], size: armored.length, facts, armoredMessage: armored, entryIds: [`e${String(i).padStart(21, '0')}`] });
  }
  await store.storeMessages(messages);
  await store.close();
}
