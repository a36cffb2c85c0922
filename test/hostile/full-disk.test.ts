// Issue 12, "a full disk blocks every signed route": the relay's data folder on a
// real small file system (tmpfs, size=24m), filled to the last byte. Deleting mail
// must still work (docs/api.md §5.4): replay nonces fall back to memory, "last seen"
// waits, and a deletion that meets the full disk takes the reserve file's space. A
// submission is refused clearly (507 out_of_space) and stays in the sender's outbox.
// Real relay process, real caliop processes; needs root for the mount (skipped otherwise).

import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEnrolled, onStick, temporaryFolder } from '../helpers/caliop.js';
import { fillToTheBrim, freeBytes } from '../helpers/full-disk.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';

const DOMAIN = 'caliop.example';
const scratch = temporaryFolder('full-disk');
const mountPoint = join(scratch.path, 'small-fs');
let mounted = false;
let relay: RelayProcess | undefined;
const sticks: Record<string, string> = {};

function tryMount(): boolean {
  mkdirSync(mountPoint);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=0700', 'tmpfs', mountPoint], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function enrolledStick(name: string): Promise<void> {
  const stick = join(scratch.path, name);
  mkdirSync(stick);
  await initEnrolled(stick, name, `${name}@${DOMAIN}`, relay!);
  sticks[name] = stick;
}

beforeAll(async () => {
  mounted = tryMount();
  if (!mounted) return;
  // 1 MiB messages: the delete reserve is 3 MiB (message limit + 2 MiB).
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(mountPoint, 'relay-data'), port: 0, store: 'sqlite', extraArgs: ['--max-message-bytes', String(1024 * 1024)] });
  await Promise.all(['alice', 'bob'].map(enrolledStick));
});

afterAll(async () => {
  await relay?.stop();
  if (mounted) execFileSync('umount', ['-l', mountPoint]);
  scratch.remove();
});

describe('a full disk at the relay', () => {
  it('deleting mail still works; a submission is refused as out_of_space and stays queued', async (context) => {
    if (!mounted) context.skip();
    const reserve = join(relay!.dataDir, 'relay.sqlite-reserve');
    expect(statSync(reserve).size).toBe(3 * 1024 * 1024);
    // Three messages of ~200 KB (incompressible) wait for bob.
    for (let n = 0; n < 3; n += 1) {
      const sent = await onStick(sticks.alice!, ['--json', 'send', '--to', `bob@${DOMAIN}`, '--subject', `before the disk filled ${n}`], { input: randomBytes(150_000).toString('base64') });
      expect(sent.status, sent.stderr).toBe(0);
      expect(JSON.parse(sent.stdout)).toMatchObject({ queued: false });
    }

    fillToTheBrim(mountPoint);
    const freeAtStart = freeBytes(mountPoint);
    expect(freeAtStart).toBeLessThan(4096);

    // A submission now: refused for space, said clearly, kept in the outbox.
    const refused = await onStick(sticks.alice!, ['--json', 'send', '--to', `bob@${DOMAIN}`, '--subject', 'on a full disk'], { input: 'no room' });
    expect(refused.status, refused.stderr).toBe(0);
    expect(JSON.parse(refused.stdout)).toMatchObject({ queued: true });
    const outbox = JSON.parse((await onStick(sticks.alice!, ['--json', 'outbox'])).stdout) as Array<{ subject: string; reason: string | null }>;
    expect(outbox).toEqual([expect.objectContaining({ subject: 'on a full disk', state: 'queued', reason: expect.stringMatching(/out of disk space.*507 out_of_space/) })]);

    // Bob's sync: signed requests (nonces), the pages, and the acknowledgement that deletes.
    const synced = await onStick(sticks.bob!, ['--json', 'sync']);
    expect(synced.status, synced.stderr).toBe(0);
    expect(JSON.parse(synced.stdout)).toMatchObject({ received: 3 });
    // The deletion took the reserve's space (and the disk is still full: the filler stays).
    expect(statSync(reserve, { throwIfNoEntry: false })?.size ?? 0).toBeLessThan(3 * 1024 * 1024);
    const again = await onStick(sticks.bob!, ['--json', 'sync']);
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ received: 0 });
    const inbox = JSON.parse((await onStick(sticks.bob!, ['--json', 'inbox'])).stdout) as Array<{ subject: string }>;
    expect(inbox.map((entry) => entry.subject).sort()).toEqual([0, 1, 2].map((n) => `before the disk filled ${n}`));
    console.log(`full disk (tmpfs 24 MiB): ${freeAtStart} bytes free at the start; bob synced 3 messages and the relay deleted them; the submission meanwhile was refused 507 and queued`);
  });
});
