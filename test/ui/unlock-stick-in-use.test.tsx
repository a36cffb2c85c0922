// docs/store.md §10, docs/ui.md §2: the unlock screen of a stick another Caliop holds says so in
// plain words, in the user's language, naming it, before and after Enter, and never crashes; once
// the other one is gone, Enter opens the stick. The holder is a real process of this computer
// (a `sleep`), its lock written as a caliop would write it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stickAt } from '../../src/edges/stick-locator.js';
import { releaseSticks } from '../../src/service/stick-hold.js';
import { App } from '../../src/ui/App.js';
import { initStick, PASSPHRASE, temporaryFolder } from '../helpers/caliop.js';
import { type, waitForFrame } from './frames.js';

const scratch = temporaryFolder('unlock-stick-in-use');
const stick = join(scratch.path, 'stick');
let other: ChildProcess;

/** A frame's text with its line wraps undone. */
const flat = (frame: string) => frame.replace(/\s+/g, ' ');

function startTicksOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  mkdirSync(stick);
  await initStick(stick, 'ana', 'ana@caliop.test');
  other = spawn('sleep', ['600'], { stdio: 'ignore' });
  const startTicks = startTicksOf(other.pid!);
  writeFileSync(
    join(stick, 'vault', 'caliop.lock-0123456789abcdef'),
    `${JSON.stringify({ format: 'caliop-stick-lock/1', holder: 'command', command: 'sync', pid: other.pid, host: hostname(), ...(startTicks ? { startTicks } : {}), since: new Date().toISOString() })}\n`,
  );
}, 300_000);

afterAll(() => {
  other?.kill('SIGKILL');
  releaseSticks();
  scratch.remove();
});

it('in French and in English: the stick is open in another Caliop, said before and after Enter; Enter opens it once the other is gone', async () => {
  const french = render(<App stick={stickAt(stick, '--stick')} language="fr" onExit={() => undefined} />);
  try {
    const shown = flat(await waitForFrame(french, /déjà ouverte/));
    expect(shown).toContain(`Cette clé USB est déjà ouverte dans une commande dans un autre terminal (« caliop sync ») (processus ${other.pid}, depuis `);
    expect(shown).toContain('puis appuyez de nouveau sur Entrée');
    await type(french, PASSPHRASE);
    const after = await waitForFrame(french, /déjà ouverte[\s\S]*Phrase de passe|Phrase de passe[\s\S]*déjà ouverte/);
    expect(after).not.toMatch(/Boîte|erreur inattendue/);
  } finally {
    french.unmount();
  }

  const english = render(<App stick={stickAt(stick, '--stick')} language="en" onExit={() => undefined} />);
  try {
    expect(flat(await waitForFrame(english, /already open/))).toContain(`This stick is already open in a command in another terminal ("caliop sync") (process ${other.pid}, since `);
    other.kill('SIGKILL');
    await new Promise((resolve) => other.once('exit', resolve));
    await type(english, PASSPHRASE);
    await waitForFrame(english, /Inbox/);
    const left = readdirSync(join(stick, 'vault')).filter((name) => name.startsWith('caliop.lock-'));
    expect(left, left.map((name) => readFileSync(join(stick, 'vault', name), 'utf8')).join('')).toHaveLength(1); // ours; the dead one removed
  } finally {
    english.unmount();
  }
  // The interface ended: its lock with it.
  expect(readdirSync(join(stick, 'vault')).filter((name) => name.startsWith('caliop.lock-'))).toEqual([]);
}, 300_000);
