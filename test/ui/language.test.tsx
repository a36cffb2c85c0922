// The language before there is a vault (docs/ui.md §7): the owner's choice kept beside the
// vault (docs/stick-layout.md §3.1), the stick's default, else the system's locale; the first screen names the key that switches it; the ceremony
// carries the choice into the vault. Plain words first, details on a key (§7).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLanguage } from '../../src/core/ui-language.js';
import { stickAt } from '../../src/edges/stick-locator.js';
import { interfaceStartLanguage } from '../../src/service/interface-language.js';
import { setLanguage } from '../../src/service/settings.js';
import { StickSession } from '../../src/service/stick-session.js';
import { App } from '../../src/ui/App.js';
import { onStick, PASSPHRASE, temporaryFolder } from '../helpers/caliop.js';
import { ENTER, ESC, press, waitForFrame } from './frames.js';

const scratch = temporaryFolder('ui-language');
beforeAll(() => {
  process.env.CALIOP_UNSAFE_TEST_KDF = '1';
});
afterAll(() => scratch.remove());

describe('startLanguage', () => {
  it("takes the stick's default first, then LC_ALL, LC_MESSAGES, LANG, then the system's UI locale", () => {
    expect(startLanguage({ stickDefault: 'fr', env: { LANG: 'en_US.UTF-8' } })).toBe('fr');
    expect(startLanguage({ stickDefault: 'de', env: { LANG: 'fr_FR.UTF-8' } })).toBe('fr');
    expect(startLanguage({ env: { LC_ALL: 'fr_CA.UTF-8', LANG: 'en_GB' } })).toBe('fr');
    expect(startLanguage({ env: { LC_ALL: '', LC_MESSAGES: 'en_US', LANG: 'fr_FR' } })).toBe('en');
    expect(startLanguage({ env: { LANG: 'fr_BE@euro' } })).toBe('fr');
    expect(startLanguage({ env: { LANG: 'C' }, systemLocale: 'fr-FR' })).toBe('en');
    expect(startLanguage({ env: {}, systemLocale: 'fr-FR' })).toBe('fr'); // Windows: no LANG
    expect(startLanguage({ env: {}, systemLocale: 'de-DE' })).toBe('en');
    expect(startLanguage({ env: {} })).toBe('en');
  });
  it("takes the owner's choice (vault/language) before the image's default, and ignores a hostile file", () => {
    expect(startLanguage({ ownerChoice: 'en', stickDefault: 'fr', env: { LANG: 'fr_FR.UTF-8' } })).toBe('en');
    const folder = join(scratch.path, 'chosen');
    mkdirSync(join(folder, 'vault'), { recursive: true });
    writeFileSync(join(folder, 'config.json'), '{"language": "en"}\n');
    const stick = stickAt(folder, '--stick');
    const languageFile = join(folder, 'vault', 'language');
    writeFileSync(languageFile, 'fr\n');
    expect(interfaceStartLanguage(stick, { LANG: 'en_US.UTF-8' })).toBe('fr');
    // Anything else is no choice: the image's default speaks.
    for (const hostile of ['de\n', `fr${' '.repeat(40)}\n`, '\u001b[31mfr', '']) {
      writeFileSync(languageFile, hostile);
      expect(interfaceStartLanguage(stick, { LANG: 'fr_FR.UTF-8' }), JSON.stringify(hostile)).toBe('en');
    }
    rmSync(languageFile);
    mkdirSync(languageFile);
    expect(interfaceStartLanguage(stick, { LANG: 'fr_FR.UTF-8' })).toBe('en');
  });
  it("reads the stick image's config.json", () => {
    const folder = join(scratch.path, 'configured');
    mkdirSync(folder);
    writeFileSync(join(folder, 'config.json'), '{"language": "fr"}\n');
    expect(interfaceStartLanguage(stickAt(folder, '--stick'), { LANG: 'en_US.UTF-8' })).toBe('fr');
    expect(interfaceStartLanguage(stickAt(join(scratch.path, 'configured'), '--stick'), {})).toBe('fr');
  });
});

describe('the first screen', { timeout: 300_000 }, () => {
  it('opens in French on a French stick, names L to switch, and the ceremony records French in the vault', async () => {
    const stick = join(scratch.path, 'new');
    mkdirSync(stick);
    const app = render(<App stick={stickAt(stick, '--stick')} startLanguage="fr" onExit={() => undefined} />);
    const welcome = await waitForFrame(app, /Bienvenue/);
    expect(welcome).toContain('L : English');
    await press(app, 'l');
    const english = await waitForFrame(app, /Welcome/);
    expect(english).toContain('L: Français');
    if (/connected to a network/.test(english)) {
      // Plain words; the interfaces and routes only on D.
      expect(english).not.toMatch(/route|0\.0\.0\.0|is up/);
      await press(app, 'd');
      expect(await waitForFrame(app, /is up/)).toMatch(/is up with/);
    }
    await press(app, 'l');
    const french = await waitForFrame(app, /Bienvenue/);
    await press(app, /relié à un réseau/.test(french) ? 'o' : ENTER);
    await waitForFrame(app, /Votre nom/);
    app.stdin.write(`Zoé Langue\rzoe@caliop.test\rt${PASSPHRASE}\r${PASSPHRASE}\r`);
    const sheet = await waitForFrame(app, /24 mots/);
    const words: string[] = [];
    for (const match of sheet.matchAll(/\b(\d{1,2})\. (\S+)/g)) words[Number(match[1]) - 1] = match[2]!;
    await press(app, ENTER);
    for (let asked = 0; asked < 3; asked++) {
      const check = await waitForFrame(app, /mot numéro (\d+)/);
      const position = Number(/mot numéro (\d+)/.exec(check)![1]);
      app.stdin.write(`${words[position - 1]!}\r`);
      if (asked < 2) await waitForFrame(app, new RegExp(`mot numéro (?!${position}\\b)\\d+|parts`));
    }
    await waitForFrame(app, /parts/);
    await press(app, 'n');
    await waitForFrame(app, /relais/);
    await press(app, ESC);
    await waitForFrame(app, /Vos clés sont prêtes/);
    app.unmount();
    const shown = await onStick(stick, ['--json', 'key', 'show']);
    expect(shown.status, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout).fingerprintWordsLanguage).toBe('fr');
    // docs/stick-layout.md §3.1: the next unlock screen speaks French on an English computer too.
    expect(readFileSync(join(stick, 'vault', 'language'), 'utf8')).toBe('fr\n');
    expect(interfaceStartLanguage(stickAt(stick, '--stick'), { LANG: 'en_US.UTF-8' })).toBe('fr');
  });

  it('a change of language in the settings is kept for the next unlock screen', async () => {
    const stick = join(scratch.path, 'new');
    const session = await StickSession.unlock(stickAt(stick, '--stick'), PASSPHRASE);
    await setLanguage(session, 'en');
    expect(readFileSync(join(stick, 'vault', 'language'), 'utf8')).toBe('en\n');
    expect(interfaceStartLanguage(stickAt(stick, '--stick'), { LANG: 'fr_FR.UTF-8' })).toBe('en');
    await setLanguage(session, 'fr');
    expect(interfaceStartLanguage(stickAt(stick, '--stick'), { LANG: 'en_US.UTF-8' })).toBe('fr');
  });

  it('the unlock screen speaks the start language and Tab switches it', async () => {
    const stick = join(scratch.path, 'new');
    const app = render(<App stick={stickAt(stick, '--stick')} startLanguage="fr" onExit={() => undefined} />);
    expect(await waitForFrame(app, /Ouvrir votre clé USB/)).toContain('Tab : English');
    await press(app, '\t');
    await waitForFrame(app, /Open your stick/);
    app.unmount();
  });
});
