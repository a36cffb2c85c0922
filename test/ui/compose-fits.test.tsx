// Issue 16: Compose fits 80×24 whatever the length of the message being written: the
// title, the recipients and the exposure stay on screen; the body shows its end (where the
// typing is) under a line that counts the rows above (TextField maxRows), in both languages.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stickAt } from '../../src/edges/stick-locator.js';
import { App } from '../../src/ui/App.js';
import { initStick, PASSPHRASE, temporaryFolder } from '../helpers/caliop.js';
import { press, type, waitForFrame } from './frames.js';

const scratch = temporaryFolder('ui-compose-fits');
let stick = '';

beforeAll(async () => {
  process.env.CALIOP_UNSAFE_TEST_KDF = '1';
  stick = join(scratch.path, 'stick');
  mkdirSync(stick);
  await initStick(stick, 'Ana Long', 'ana@caliop.test');
});
afterAll(() => scratch.remove());

const SAYS = {
  en: { unlock: /Open your stick/, inbox: /Inbox/, compose: /New message/, title: 'New message', exposure: /\(\d+\/100\)/, above: /more lines above/ },
  fr: { unlock: /Ouvrir votre clé USB/, inbox: /Boîte de réception/, compose: /Nouveau message/, title: 'Nouveau message', exposure: /\(\d+\/100\)/, above: /lignes de plus au-dessus/ },
} as const;

describe('compose on 80×24', { timeout: 300_000 }, () => {
  for (const language of ['en', 'fr'] as const) {
    it(`${language}: 40 lines of body (some longer than the screen) keep the title, the recipient and the exposure on screen`, async () => {
      const says = SAYS[language];
      const app = render(<App stick={stickAt(stick, '--stick')} language={language} onExit={() => undefined} />);
      await waitForFrame(app, says.unlock);
      await type(app, PASSPHRASE);
      await waitForFrame(app, says.inbox);
      await press(app, 'n');
      await waitForFrame(app, says.compose);
      await type(app, 'bob@caliop.test');
      await type(app, 'A long one');
      const body = Array.from({ length: 40 }, (_, index) => (index % 7 === 3 ? `line ${index} ${'long '.repeat(30)}` : `line ${index}`)).join('\r');
      app.stdin.write(`${body}\rthe last line`);
      const frame = await waitForFrame(app, /the last line/);
      const lines = frame.split('\n');
      expect(lines.length, frame).toBeLessThanOrEqual(24);
      for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(80);
      expect(lines[0], frame).toContain(says.title);
      expect(frame).toContain('bob@caliop.test');
      expect(frame).toMatch(says.exposure);
      expect(frame).toMatch(says.above);
      expect(frame).not.toContain('line 0\n');
      app.unmount();
    });
  }
});
