// The tmux helper's own guarantee (test/helpers/tmux.ts): a Terminal's server outlives its
// sessions, so a session started right after another ended never reaches a server that is
// exiting ("server exited unexpectedly": CI at 1d11805, test/cli-interactive-init).
import { afterAll, describe, expect, it } from 'vitest';
import { Terminal } from './helpers/tmux.js';

const terminal = new Terminal('helper-self');
afterAll(() => terminal.stop());

/** tmux's answer, or its error line. */
function ask(...args: string[]): string {
  try {
    return terminal.tmux(...args).trim();
  } catch (error) {
    return String((error as { stderr?: string }).stderr ?? error).trim();
  }
}
const sessions = () => ask('list-sessions', '-F', '#{session_name}');
// show-options never starts a server: it answers only if the server is still there.
const serverKeepsRunning = () => ask('show-options', '-gv', 'exit-empty');

describe('the tmux helper', () => {
  it('keeps the server when the last session ends, by kill or by its command exiting', async () => {
    terminal.start('sleep 60');
    expect(sessions()).toBe(terminal.session);
    terminal.endSession();
    // The session is gone and the server answers: it did not exit with its last session.
    expect(serverKeepsRunning()).toBe('off');
    expect(sessions()).toBe('');

    terminal.start('exit 0');
    // Wait on the event (the command's exit ends its session), not for a time.
    while (sessions() === terminal.session) await new Promise((done) => setTimeout(done, 50));
    expect(serverKeepsRunning()).toBe('off');

    terminal.start('echo again; sleep 60');
    await terminal.waitFor(/again/);
  });
});
