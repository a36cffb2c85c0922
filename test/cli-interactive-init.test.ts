// The interactive ceremony in a real pseudo-terminal (tmux): hidden passphrase
// input, the recovery sheet shown once and then cleared with the scrollback, and
// the backup check on randomly chosen words (docs/cli.md §3.1, docs/ceremony.md §8).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CALIOP_ENTRY, caliop, temporaryFolder, testEnv } from './helpers/caliop.js';
import { Terminal } from './helpers/tmux.js';

const scratch = temporaryFolder('tty');
const session = `caliop-init-${process.pid}`;
const passphrase = 'correct horse battery staple, but longer 1789';

// Its own tmux server: no other test (or person) shares its sessions. Waits search the scrollback too.
const terminal = new Terminal('init-tty', { width: 120, height: 60 }, session);
const waitFor = (pattern: RegExp) => terminal.waitFor(pattern, { scrollback: true });
const type = (text: string) => terminal.type(text);

afterAll(() => {
  terminal.stop();
  scratch.remove();
});

describe('caliop init at a terminal', () => {
  it('asks twice with echo off, shows the sheet once, clears it, checks three words, and the vault opens', async () => {
    const stick = join(scratch.path, 'stick');
    mkdirSync(stick);
    const command = `env CALIOP_UNSAFE_TEST_KDF=1 ${process.execPath} ${CALIOP_ENTRY} --stick ${stick} init --name 'Ana Terminal' --email ana@example.org --allow-online; echo CALIOP-EXIT=$?; sleep 60`;
    terminal.start(command);

    await waitFor(/Choose the passphrase: $/m);
    type(passphrase);
    await waitFor(/Type it again: $/m);
    type(passphrase);

    const sheetScreen = await waitFor(/Press Enter when done/);
    const words: string[] = [];
    for (const match of sheetScreen.matchAll(/\b(\d{1,2})\. ([a-z]+)/g)) words[Number(match[1]) - 1] = match[2]!;
    expect(words.filter(Boolean)).toHaveLength(24);
    type('');

    const checkScreen = await waitFor(/Word #(\d+): $/m);
    // The phrase is gone from the screen and from the scrollback.
    expect(checkScreen).not.toContain('RECOVERY SHEET');
    expect(checkScreen).not.toMatch(new RegExp(`\\b1\\. ${words[0]}\\b`));
    const positions = [...checkScreen.matchAll(/type the words at positions ([\d, ]+)\./g)][0]![1]!.split(',').map((text) => Number(text.trim()));
    expect(positions).toHaveLength(3);
    for (const position of positions) {
      await waitFor(new RegExp(`Word #${position}: $`, 'm'));
      type(words[position - 1]!);
    }

    const done = await waitFor(/CALIOP-EXIT=\d+/);
    expect(done).toMatch(/CALIOP-EXIT=0/);
    expect(done).toMatch(/your key is ready: [0-9A-F]{40}/);
    expect(done).not.toContain(passphrase); // echo was off

    const shown = await caliop(['--stick', stick, '--json', '--passphrase-file', '@ENV:P', 'key', 'show'], { env: testEnv({ P: passphrase }) });
    expect(JSON.parse(shown.stdout).ceremony.backupChecked).toBe(true);
  });

  it('refuses to write binary OpenPGP to the terminal (12), with a hint', async () => {
    const stick = join(scratch.path, 'stick');
    terminal.endSession();
    const command = `env CALIOP_UNSAFE_TEST_KDF=1 P='${passphrase}' ${process.execPath} ${CALIOP_ENTRY} --stick ${stick} --passphrase-file @ENV:P encrypt --to ana@example.org --binary < /dev/null; echo CALIOP-EXIT=$?; sleep 60`;
    terminal.start(command, { height: 30 });
    const done = await waitFor(/CALIOP-EXIT=\d+/);
    expect(done).toMatch(/CALIOP-EXIT=12/);
    expect(done).toMatch(/caliop: error: refusing to write binary data to the terminal/);
    expect(done).toMatch(/caliop: hint: redirect the output to a file/);
  });
});
