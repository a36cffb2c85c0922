// Issue 12, "Deleting works on a full disk", the stick's side (docs/store.md §6.2): the
// stick is a small real file system (ext4 with 1 KiB blocks on a loop device this test
// makes; fusefat cannot append to a file, docs/store.md §6.1), filled to the last byte.
// A change that needs a new block (marking a message read) is refused, saying the stick
// is full; `caliop delete ID`, the real command, still works: its journal record takes
// the delete reserve's space, the message's files go, and the reserve is written again.
// Three rounds, the stick filled again before each. Needs root (skipped otherwise).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isCaliopError } from '../../src/errors.js';
import { DELETE_RESERVE_BYTES } from '../../src/edges/store-files.js';
import { stickInFolder } from '../../src/service/stick-lookup.js';
import { StickSession } from '../../src/service/stick-session.js';
import { LoopDeviceLab } from '../flash-loop-devices.js';
import { initStick, onStick, PASSPHRASE } from '../helpers/caliop.js';
import { fillToTheBrim, freeBytes } from '../helpers/full-disk.js';

const BLOCK = 1024;
const ROUNDS = 3;
let lab: LoopDeviceLab | undefined;
let stick = '';
let skipped = '';
const savedKdfSwitch = process.env['CALIOP_UNSAFE_TEST_KDF'];

beforeAll(async () => {
  if (process.getuid?.() !== 0) {
    skipped = 'not root: no loop device';
    return;
  }
  process.env['CALIOP_UNSAFE_TEST_KDF'] = '1';
  lab = new LoopDeviceLab('caliop-full-stick-');
  const { device } = lab.loopDevice('stick.img', 8 * 1024 * 1024);
  // No reserved blocks for root (-m 0): full means full, for the test as for a FAT stick.
  execFileSync('mkfs.ext4', ['-q', '-F', '-m', '0', '-b', String(BLOCK), '-O', '^has_journal', device], { stdio: 'ignore' });
  stick = join(lab.mount(device, 'mounted'), 'stick');
  mkdirSync(stick);
  await initStick(stick, 'bob', 'bob@caliop.example');
  // Six messages to delete, of 20 to 70 KB each (what a sync would have stored).
  const session = await unlock();
  await session.store.put(
    Array.from({ length: 6 }, (_, n) => ({
      message: {
        id: '', direction: 'in' as const, relayId: `relay-${n}`, from: 'alice@caliop.example', to: ['bob@caliop.example'],
        subject: `message ${n}`, date: new Date(Date.UTC(2026, 0, 1, n)).toISOString(), storedAt: new Date().toISOString(),
        unread: true, armoredMessage: `-----BEGIN PGP MESSAGE-----\n${'m'.repeat(20_000 + n * 10_000)}\n-----END PGP MESSAGE-----\n`,
      },
    })),
  );
}, 300_000);

afterAll(() => {
  if (savedKdfSwitch === undefined) delete process.env['CALIOP_UNSAFE_TEST_KDF'];
  else process.env['CALIOP_UNSAFE_TEST_KDF'] = savedKdfSwitch;
  lab?.cleanup();
});

function unlock(): Promise<StickSession> {
  return StickSession.unlock(stickInFolder(stick), PASSPHRASE);
}

function journalOf(session: StickSession): string {
  return join(session.store.folder, 'journal');
}

it(`caliop delete works on a full stick, ${ROUNDS} times over, while a change that needs space is refused`, async (context) => {
  if (skipped) context.skip();
  const reports: string[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    let session = await unlock();
    expect(statSync(join(session.store.folder, 'reserve')).size, `round ${round}: the reserve is whole`).toBe(DELETE_RESERVE_BYTES);
    // The journal's last block nearly full, so that the next record needs a new block: toggled read marks fill it.
    const [victim, other] = (await session.store.page()).entries;
    for (let toggles = 0; BLOCK - (statSync(journalOf(session)).size % BLOCK) >= 64; toggles += 1) {
      expect(toggles, 'the journal never came near a block boundary').toBeLessThan(500);
      await session.store.setUnread(other!.id, !(await session.store.entry(other!.id))!.unread);
    }
    fillToTheBrim(join(stick, '..'), `filler-${round}`);
    expect(freeBytes(stick)).toBe(0);

    // A change that needs space: refused, said plainly, nothing half written.
    const journalBefore = statSync(journalOf(session)).size;
    const refused = await session.store.setUnread(other!.id, !(await session.store.entry(other!.id))!.unread).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isCaliopError(refused, 'stick_write_failed'), `round ${round}: marking read on a full stick: ${String(refused)}`).toBe(true);
    expect((refused as Error).message).toMatch(/the stick is full/);
    expect(statSync(journalOf(session)).size).toBe(journalBefore);

    // The real command deletes all the same.
    const object = join(session.store.folder, 'objects', (await session.store.entry(victim!.id))!.object.slice(0, 2), (await session.store.entry(victim!.id))!.object);
    expect(existsSync(object)).toBe(true);
    const deleted = await onStick(stick, ['--json', 'delete', victim!.id]);
    expect(deleted.status, deleted.stderr).toBe(0);
    expect(JSON.parse(deleted.stdout)).toEqual({ deleted: victim!.id });

    // Gone for good, its file too; every other message whole; the reserve written again.
    session = await unlock();
    expect(await session.store.entry(victim!.id)).toBeUndefined();
    expect(existsSync(object)).toBe(false);
    for (const entry of (await session.store.page()).entries) expect((await session.store.get(entry.id)).subject).toBe(entry.subject);
    const reserve = statSync(join(session.store.folder, 'reserve')).size;
    expect(reserve, `round ${round}: reserve after the delete`).toBe(DELETE_RESERVE_BYTES);
    reports.push(`round ${round}: ${victim!.size} bytes freed, reserve ${reserve} bytes, ${freeBytes(stick)} bytes free after`);
  }
  console.log(`full stick (ext4, ${BLOCK}-byte blocks, 8 MiB loop device): caliop delete on a full stick ${ROUNDS} times; ${reports.join('; ')}`);
}, 300_000);
