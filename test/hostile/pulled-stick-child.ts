// The process that test/hostile/pulled-stick.test.ts SIGKILLs. Bundled by esbuild (one
// chunk per mode, loaded on demand), it runs the same calls the `caliop` commands run,
// and says on stdout where it is (test/helpers/kill-trial.ts): `ready` once unlocked,
// when the part that writes starts, a line per step done, `done <ms>` at the end.
//
//   vault VAULT_FILE            saves states n+1, n+2, ... of one vault for ever, each with its ms (docs/vault-format.md §7)
//   store FOLDER KEY_HEX ROUND  puts, marks read, deletes and compacts for ever (docs/store.md §6)
//   fold FOLDER KEY_HEX         marks messages read and unread, folding the journal every 8 marks, for ever (§4, §6)
//   passwd VAULT_FILE           what `caliop passwd` writes: the vault re-sealed under TEST_NEW_PASSPHRASE
//   sync STICK                  what `caliop sync` does: flush the outbox, fetch, store, acknowledge
//
// Passphrases come from the environment (TEST_PASSPHRASE, TEST_NEW_PASSPHRASE), never argv.

import { pathToFileURL } from 'node:url';

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const utf8 = new TextEncoder();
const passphrase = process.env['TEST_PASSPHRASE'] ?? '';

/** The vault writer's states: "state N" and a filler whose size depends on N, so a mixed-up file would not verify. */
export function vaultState(n: number): string {
  return n === 0 ? 'state 0' : `state ${n}\n${String(n % 10).repeat(1000 + ((n * 7919) % 50000))}`;
}

async function vaultWriter(vaultPath: string): Promise<void> {
  const { unlockVault } = await import('../../src/edges/vault-file.js');
  const { plaintext, handle } = await unlockVault(vaultPath, utf8.encode(passphrase));
  let n = Number(new TextDecoder().decode(plaintext).split('\n')[0]!.split(' ')[1]);
  say(`state ${n}`);
  say('ready');
  for (;;) {
    n += 1;
    const started = performance.now();
    await handle.save(utf8.encode(vaultState(n)));
    say(`saved ${n} ${Math.round(performance.now() - started)}`);
  }
}

// Each line is a change that returned (is durable): put <relayId> <id> | read <id> | del <id>;
// and, before a deletion starts, `deleting <id>`: killed between the deletion becoming durable
// and its `del` line, that message is either there or gone, both correct.
async function storeWriter(folder: string, keyHex: string, firstRound: number): Promise<void> {
  const { existsSync } = await import('node:fs');
  const { MessageStore } = await import('../../src/service/message-store.js');
  const { randomBytes } = await import('../../src/edges/random.js');
  const key = Uint8Array.from(Buffer.from(keyHex, 'hex'));
  const store = existsSync(folder) ? await MessageStore.open(folder, key, randomBytes) : await MessageStore.create(folder, key, randomBytes);
  say('ready');
  for (let round = firstRound + 1; ; round += 1) {
    const page = Array.from({ length: 1 + (round % 4) }, (_, k) => ({
      message: {
        id: '', direction: 'in' as const, relayId: `r${round}-${k}`, from: 'bob@caliop.test', to: ['alice@caliop.test'],
        subject: `s${round}`, date: new Date(Date.UTC(2026, 0, 1, 0, round)).toISOString(), storedAt: new Date().toISOString(),
        unread: true, armoredMessage: 'm'.repeat(200 + ((round * 7919 + k) % 70000)),
      },
    }));
    const stored = await store.put(page, { relayCursor: `c${round}` });
    for (const message of stored) say(`put ${message.relayId} ${message.id}`);
    await store.setUnread(stored[0]!.id, false);
    say(`read ${stored[0]!.id}`);
    if (round % 3 === 0) {
      const victim = (await store.page(store.count - 1, 1)).entries[0];
      if (victim) {
        say(`deleting ${victim.id}`);
        await store.delete([victim.id]);
        say(`del ${victim.id}`);
      }
    }
    if (round % 5 === 0) {
      await store.compact();
      say('compacted');
    }
  }
}

// docs/store.md §4, §6: `marking <id> <0|1>` before a mark, `mark <id> <0|1>` once durable;
// `folding` before each fold of the journal, `folded <ms>` once it returned.
async function foldWriter(folder: string, keyHex: string): Promise<void> {
  const { existsSync } = await import('node:fs');
  const { MessageStore } = await import('../../src/service/message-store.js');
  const { randomBytes } = await import('../../src/edges/random.js');
  const key = Uint8Array.from(Buffer.from(keyHex, 'hex'));
  const fresh = !existsSync(folder);
  const store = fresh ? await MessageStore.create(folder, key, randomBytes) : await MessageStore.open(folder, key, randomBytes);
  if (fresh) {
    await store.put(Array.from({ length: 200 }, (_, k) => ({
      message: {
        id: '', direction: 'in' as const, relayId: `f${k}`, from: 'bob@caliop.test', to: ['alice@caliop.test'], subject: `f${k}`,
        date: new Date(Date.UTC(2026, 0, 1, 0, k)).toISOString(), storedAt: new Date().toISOString(), unread: true, armoredMessage: 'm',
      },
    })));
  }
  say('ready');
  const ids = (await store.page()).entries.map((entry) => entry.id);
  for (let i = 0; ; i++) {
    const id = ids[Math.floor(Math.random() * ids.length)]!;
    const unread = !(await store.entry(id))!.unread;
    say(`marking ${id} ${unread ? 1 : 0}`);
    await store.setUnread(id, unread);
    say(`mark ${id} ${unread ? 1 : 0}`);
    if (i % 8 === 7) {
      say('folding');
      const started = performance.now();
      await store.foldJournal();
      say(`folded ${(performance.now() - started).toFixed(2)}`);
    }
  }
}

// `caliop passwd` unlocks, checks the new passphrase's strength (writing nothing), then
// re-seals: StickSession.changePassphrase is the vault handle's reseal, called here.
async function passwd(vaultPath: string): Promise<void> {
  const { unlockVault } = await import('../../src/edges/vault-file.js');
  const { handle } = await unlockVault(vaultPath, utf8.encode(passphrase));
  say('ready');
  const started = performance.now();
  await handle.reseal(utf8.encode(process.env['TEST_NEW_PASSPHRASE'] ?? ''));
  say(`done ${Math.round(performance.now() - started)}`);
}

async function sync(stickFolder: string): Promise<void> {
  const { StickSession } = await import('../../src/service/stick-session.js');
  const { stickInFolder } = await import('../../src/service/stick-lookup.js');
  const { syncMailbox } = await import('../../src/service/mail-sync.js');
  const session = await StickSession.unlock(stickInFolder(stickFolder), passphrase);
  say('ready');
  const started = performance.now();
  const report = await syncMailbox(session, new Date());
  if (report.errors.length > 0 || report.failed.length > 0) throw new Error(`sync: ${JSON.stringify(report)}`);
  say(`done ${Math.round(performance.now() - started)} sent ${report.sent} received ${report.received}`);
}

// Run as a program (the bundle), not when the test imports vaultState.
const [mode, ...args] = import.meta.url === pathToFileURL(process.argv[1] ?? '').href ? process.argv.slice(2) : [];
if (mode === 'vault') await vaultWriter(args[0]!);
else if (mode === 'store') await storeWriter(args[0]!, args[1]!, Number(args[2]));
else if (mode === 'fold') await foldWriter(args[0]!, args[1]!);
else if (mode === 'passwd') await passwd(args[0]!);
else if (mode === 'sync') await sync(args[0]!);
else if (mode !== undefined) throw new Error(`unknown mode ${mode}`);
