// Sync on both cores (issue 13, docs/architecture.md §Worker threads): the messages of
// page n+1 are being opened while page n is stored and acknowledged, and still every page
// is stored before it is acknowledged (docs/vault-contents.md §5.2), in order, each
// message once. The opener is wrapped to count the openings it was asked for; the real
// relay process serves a backlog of three pages.
import { EventEmitter, once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { stickAt } from '../src/edges/stick-locator.js';
import { SqliteRelayStore } from '../src/relay/store/sqlite-store.js';
import { syncMailbox } from '../src/service/mail-sync.js';
import { StickSession } from '../src/service/stick-session.js';
import { storeBacklog } from './helpers/backlog.js';
import { initEnrolled, PASSPHRASE, temporaryFolder } from './helpers/caliop.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const openings = new EventEmitter();
let opened = 0;
vi.mock('../src/service/mail-open.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../src/service/mail-open.js')>();
  return {
    ...actual,
    arrivalOpener: async (...args: Parameters<typeof actual.arrivalOpener>) => {
      const inner = await actual.arrivalOpener(...args);
      return {
        open: (armored: string) => {
          opened += 1;
          openings.emit('open');
          return inner.open(armored);
        },
        close: () => inner.close(),
      };
    },
  };
});

const DOMAIN = 'caliop.example';
const BACKLOG = 250; // three pages of at most 100 (docs/api.md §8.8, the relay's default maxPageSize)
const scratch = temporaryFolder('sync-pipeline');
let relay: RelayProcess;
let stick: string;

beforeAll(async () => {
  process.env.CALIOP_UNSAFE_TEST_KDF = '1';
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay') });
  stick = join(scratch.path, 'ana');
  mkdirSync(stick);
  const ana = await initEnrolled(stick, 'ana', `ana@${DOMAIN}`, relay);
  const cert = await openpgp.readKey({ armoredKey: ana.cert });
  const armoredMessage = async (i: number) => openpgp.encrypt({ message: await openpgp.createMessage({ text: `Subject: backlog ${i}\n\n${'x'.repeat(1024)}` }), encryptionKeys: cert });
  await storeBacklog(join(scratch.path, 'relay'), { sender: `bob@${DOMAIN}`, recipient: `ana@${DOMAIN}`, count: BACKLOG, armoredMessage });
}, 600_000);

afterAll(async () => {
  await relay?.stop();
  scratch.remove();
});

it('page n+1 is being opened while page n is stored; each page is stored before it is acknowledged, in order, each message once', async () => {
  const session = await StickSession.unlock(stickAt(stick, '--stick'), PASSPHRASE);
  const relayStore = await SqliteRelayStore.open(join(scratch.path, 'relay', 'relay.sqlite'));
  const put = session.store.put.bind(session.store);
  const pages: { size: number; openedBefore: number; waitingOnRelay: number }[] = [];
  let storedSoFar = 0;
  vi.spyOn(session.store, 'put').mockImplementation(async (items, options) => {
    const firstPage = pages.length === 0;
    // The first page's store waits (on an event, with a guard) for an opening beyond its own
    // messages: page 2's. Opened one page after the other, that never comes before this store.
    if (firstPage && opened <= items.length) {
      const guard = AbortSignal.timeout(60_000);
      while (opened <= items.length && !guard.aborted) await once(openings, 'open', { signal: guard }).catch(() => undefined);
    }
    // Nothing of this page, nor of the pages after it, was acknowledged before it is stored.
    const waitingOnRelay = (await relayStore.listMailbox(`ana@${DOMAIN}`, 0, 1000)).length;
    pages.push({ size: items.length, openedBefore: opened, waitingOnRelay });
    const stored = await put(items, options);
    storedSoFar += stored.length;
    return stored;
  });
  try {
    const report = await syncMailbox(session, new Date());
    expect(report.received).toBe(BACKLOG);
    expect(pages.map((page) => page.size)).toEqual([100, 100, 50]);
    expect(pages[0]!.openedBefore).toBeGreaterThan(100);
    expect(pages.map((page) => page.waitingOnRelay)).toEqual([250, 150, 50]);
    expect(storedSoFar).toBe(BACKLOG);
    // In the relay's order, each once: the local ids follow the relay ids.
    const entries = (await session.store.entries()).sort((a, b) => Number(a.id) - Number(b.id));
    expect(entries.map((entry) => entry.relayId)).toEqual(Array.from({ length: BACKLOG }, (_, i) => `e${String(i).padStart(21, '0')}`)); // the mailbox entry ids
    expect(await relayStore.listMailbox(`ana@${DOMAIN}`, 0, 10)).toEqual([]);
  } finally {
    await relayStore.close();
  }
}, 600_000);
