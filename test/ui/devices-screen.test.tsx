// The interface's "My sticks" screen (docs/lost-stick.md, docs/api.md §6.4-§6.5) and
// the key's expiry and renewal on the stick screen (docs/ceremony.md §6.6), on real
// sticks and the real relay process: one person's first stick and a second one made
// from the recovery sheet; the first revokes the second, which the relay then refuses.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stickAt } from '../../src/edges/stick-locator.js';
import { ERROR_TABLE } from '../../src/errors.js';
import { App } from '../../src/ui/App.js';
import { initStick, onStick, PASSPHRASE, temporaryFolder } from '../helpers/caliop.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';
import { DOWN, press, type, waitForFrame } from './frames.js';

const DOMAIN = 'caliop.example';
const scratch = temporaryFolder('ui-devices');
let relay: RelayProcess;
let first: string;
let spare: string;
let createdAt: Date;

beforeAll(async () => {
  process.env.CALIOP_UNSAFE_TEST_KDF = '1';
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay') });
  first = join(scratch.path, 'ana');
  mkdirSync(first);
  const init = await initStick(first, 'ana', `ana@${DOMAIN}`);
  createdAt = new Date(init.creationDate);
  const enrolled = await onStick(first, ['relay', 'enrol', '--server', relay.url, '--server-pin', relay.pin!]);
  expect(enrolled.status, enrolled.stderr).toBe(0);
  spare = join(scratch.path, 'ana-spare');
  mkdirSync(spare);
  writeFileSync(join(scratch.path, 'sheet.txt'), init.recoverySheet);
  const recovered = await onStick(spare, ['--batch', 'recover', '--phrase-file', join(scratch.path, 'sheet.txt'), '--allow-online']);
  expect(recovered.status, recovered.stderr).toBe(0);
  const joined = await onStick(spare, ['relay', 'enrol', '--server', relay.url, '--server-pin', relay.pin!, '--device-name', 'spare']);
  expect(joined.status, joined.stderr).toBe(0);
}, 600_000);

afterAll(async () => {
  await relay?.stop();
  scratch.remove();
});

it('stick screen with the clock moved ahead: a reminder from 90 days before expiry, a clear refusal after it (docs/ceremony.md §6.6)', async () => {
  const DAY = 86_400_000;
  const expiry = new Date(createdAt.getTime() + 1096 * DAY).toISOString().slice(0, 10);
  for (const [days, shown] of [
    [1000, new RegExp(`Key valid until ${expiry}`)],
    [1020, new RegExp(`⚠ Your key expires on ${expiry}, in 76 days: press R to renew it`)],
    [1097, new RegExp(`✗ Your key EXPIRED on ${expiry}: press R to renew it; nothing can be sent until\\s+then`)], // wrapped at 80 columns
  ] as const) {
    const app = render(<App stick={stickAt(first, '--stick')} language="en" clock={() => new Date(createdAt.getTime() + days * DAY)} onExit={() => undefined} />);
    try {
      await waitForFrame(app, /Open your stick/);
      await type(app, PASSPHRASE);
      await waitForFrame(app, /Inbox/);
      await press(app, 'k');
      const frame = await waitForFrame(app, /Key valid until|Your key expires|Your key EXPIRED/);
      expect(frame).toMatch(shown);
    } finally {
      app.unmount();
    }
  }
}, 300_000);

it('stick screen: expiry shown, R renews; L lists both sticks with the lost-stick steps; X then Y revokes the other one', async () => {
  const app = render(<App stick={stickAt(first, '--stick')} language="en" onExit={() => undefined} />);
  try {
    await waitForFrame(app, /Open your stick/);
    await type(app, PASSPHRASE);
    await waitForFrame(app, /Inbox/);
    await press(app, 'k');
    const stick = await waitForFrame(app, /Key valid until \d{4}-\d\d-\d\d/);
    expect(stick).toContain('L sticks · Esc: back');
    expect(stick).toContain('(R: renew it now)');
    expect(stick).toContain('D: show the technical details');
    await press(app, 'r');
    expect(await waitForFrame(app, /Key renewed: valid until \d{4}-\d\d-\d\d/, 120_000)).toContain('your contacts get the new date');

    await press(app, 'l');
    const list = await waitForFrame(app, /spare .*active/, 120_000);
    expect(list).toMatch(/› stick-1 .*this stick/);
    expect(list).toContain('A stick lost or stolen?');
    // Plain words (docs/ui.md §7): what to press, no command to type; lines broken between words.
    expect(list).toContain('press F');
    expect(list).not.toMatch(/caliop [a-z]|--[a-z]|docs\//);
    for (const line of list.split('\n')) {
      expect([...line].length).toBeLessThanOrEqual(80);
      expect(line, 'a line that starts with the space of its break').not.toMatch(/^ [^ ]/);
    }
    // This stick cannot be chosen for revocation: X on it does nothing.
    await press(app, 'x');
    expect(app.lastFrame()).not.toContain('Revoke the stick');
    await press(app, DOWN);
    await press(app, 'x');
    expect(await waitForFrame(app, /Revoke the stick "spare"\?/)).toContain('Y: revoke it');
    await press(app, 'y');
    const after = await waitForFrame(app, /The stick "spare" is revoked/, 120_000);
    expect(await waitForFrame(app, /spare .*revoked \d{4}-\d\d-\d\d/, 120_000)).toBeTruthy();
    expect(after).toBeTruthy();
  } finally {
    app.unmount();
  }
  // The relay refuses the revoked stick at once.
  const refused = await onStick(spare, ['sync']);
  expect(refused.status, refused.stderr).toBe(ERROR_TABLE.device_revoked.exit);
}, 600_000);

it('in French: "Mes clés USB" and the same steps', async () => {
  const app = render(<App stick={stickAt(first, '--stick')} language="fr" onExit={() => undefined} />);
  try {
    await waitForFrame(app, /Ouvrir/);
    await type(app, PASSPHRASE);
    await waitForFrame(app, /Boîte/);
    await press(app, 'k');
    await waitForFrame(app, /Clé valable jusqu’au/);
    await press(app, 'l');
    const list = await waitForFrame(app, /spare .*retirée \d{4}/, 120_000);
    expect(list).toContain('Mes clés USB');
    expect(list).toContain('Une clé USB perdue ou volée ?');
    expect(list).not.toMatch(/caliop [a-z]|--[a-z]|docs\//);
    for (const line of list.split('\n')) {
      expect([...line].length).toBeLessThanOrEqual(80);
      expect(line, 'a line that starts with the space of its break').not.toMatch(/^ [^ ]/);
    }
  } finally {
    app.unmount();
  }
}, 600_000);
