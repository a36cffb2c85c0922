// A program in a real pseudo-terminal: tmux on a server (-L socket) of its own, so no
// other test (or person) shares its sessions. Tests wait on the screen's content, never
// for a fixed time (the 100 ms between captures polls the screen; it waits for nothing).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

export interface TerminalOptions {
  readonly width?: number;
  readonly height?: number;
  /** tmux -u: the client is told the terminal speaks UTF-8. */
  readonly utf8?: boolean;
  /** How long waitFor waits by default (a loaded machine is slow to draw). */
  readonly waitMs?: number;
  /** waitFor's `stable` by default. */
  readonly stable?: boolean;
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  /** Search the scrollback too, not only the visible screen. */
  readonly scrollback?: boolean;
  /** Return only once two captures in a row are the same (the program has stopped drawing). */
  readonly stable?: boolean;
}

/** One session on its own tmux server; `name` becomes part of the socket's name, with the test's pid. */
export class Terminal {
  readonly socket: string;
  readonly session: string;
  private readonly options: TerminalOptions;

  constructor(name: string, options: TerminalOptions = {}, session = 'caliop') {
    this.socket = `caliop-${name}-${process.pid}`;
    this.session = session;
    this.options = options;
  }

  tmux(...args: string[]): string {
    return execFileSync('tmux', [...(this.options.utf8 ? ['-u'] : []), '-L', this.socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /**
   * Runs `command` (through tmux's shell) in a new detached session. The server is told to
   * stay when its last session ends (`exit-empty off`, in the same command queue as the new
   * session): otherwise ending a session (or a command that exits) makes the server exit, and
   * a `start` soon after can reach it while it is exiting and fail with "server exited
   * unexpectedly" (CI at 1d11805, test/cli-interactive-init; 2 in 300 quick restarts here).
   * Only `stop` ends the server.
   */
  start(command: string, size: { width?: number; height?: number } = {}): void {
    const width = size.width ?? this.options.width ?? 80;
    const height = size.height ?? this.options.height ?? 24;
    this.tmux('new-session', '-d', '-s', this.session, '-x', String(width), '-y', String(height), command, ';', 'set-option', '-g', 'exit-empty', 'off');
  }

  /** Ends the current session (its server stays for the next start). */
  endSession(): void {
    this.tmux('kill-session', '-t', this.session);
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', this.session);
  }

  /** The visible screen plus the whole scrollback. */
  screenAndScrollback(): string {
    return this.tmux('capture-pane', '-p', '-J', '-S', '-', '-t', this.session);
  }

  /** The screen once it shows `pattern` (and, with `stable`, has stopped changing). */
  async waitFor(pattern: { test(text: string): boolean }, options: WaitOptions = {}): Promise<string> {
    const deadline = Date.now() + (options.timeoutMs ?? this.options.waitMs ?? 60_000);
    let last: string | undefined;
    for (;;) {
      const text = options.scrollback ? this.screenAndScrollback() : this.screen();
      if (pattern.test(text) && (!(options.stable ?? this.options.stable) || text === last)) return text;
      last = text;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pattern)}; screen:\n${text}`);
      await new Promise((done) => setTimeout(done, 100)); // polling the screen, not a pause for the program
    }
  }

  keys(...names: string[]): void {
    this.tmux('send-keys', '-t', this.session, ...names);
  }

  /** Types `text` literally, then Enter unless told not to. */
  type(text: string, enter = true): void {
    this.tmux('send-keys', '-t', this.session, '-l', text);
    if (enter) this.keys('Enter');
  }

  /** Kills the server; nothing if it is already gone. */
  stop(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // already gone
    }
  }
}

/**
 * docs/ui.md §4: a captured screen fits 80×24 with its title still on the first line
 * (nothing scrolled away); it is kept as `NAME.txt` in `folder` (an artifact CI keeps).
 * Columns are counted after NFC: accents may come decomposed (the BIP39 French list is
 * NFD), and the terminal draws each letter in one column.
 */
export function keepScreen(folder: string, name: string, text: string, title: RegExp): string {
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, `${name}.txt`), text);
  const lines = text.replace(/\n$/, '').split('\n');
  expect(lines.length, `${name}: more than 24 lines`).toBeLessThanOrEqual(24);
  for (const line of lines) expect([...line.normalize('NFC')].length, `${name}: wider than 80 columns: ${line}`).toBeLessThanOrEqual(80);
  expect(lines[0], `${name}: the title is not on the first line (the screen is taller than 24 lines)`).toMatch(title);
  return text;
}
