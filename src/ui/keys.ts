// Keys as the screens see them: one key press at a time, whatever the terminal sent
// in one chunk (a burst, a paste, a slow machine), docs/ui.md §5. Pure: text in,
// keys out; src/ui/key-queue.tsx delivers them one by one.

/** One key press. Field names follow Ink's `Key`, so a screen reads the same. */
export interface Key {
  readonly upArrow: boolean;
  readonly downArrow: boolean;
  readonly leftArrow: boolean;
  readonly rightArrow: boolean;
  readonly pageUp: boolean;
  readonly pageDown: boolean;
  readonly home: boolean;
  readonly end: boolean;
  readonly return: boolean;
  readonly escape: boolean;
  readonly ctrl: boolean;
  readonly shift: boolean;
  readonly tab: boolean;
  readonly backspace: boolean;
  readonly delete: boolean;
  readonly meta: boolean;
}

export interface KeyPress {
  /** The printable text of the key ('' for Enter, arrows, …; the letter for Ctrl+letter). */
  readonly input: string;
  readonly key: Key;
}

const NONE: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageUp: false,
  pageDown: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
};

function press(input: string, key: Partial<Key> = {}): KeyPress {
  return { input, key: { ...NONE, ...key } };
}

// CSI / SS3 final bytes and `~` codes of the keys the screens use.
const FINAL: Readonly<Record<string, Partial<Key>>> = {
  A: { upArrow: true },
  B: { downArrow: true },
  C: { rightArrow: true },
  D: { leftArrow: true },
  H: { home: true },
  F: { end: true },
  Z: { tab: true, shift: true },
};
const TILDE: Readonly<Record<string, Partial<Key>>> = {
  '1': { home: true },
  '7': { home: true },
  '4': { end: true },
  '8': { end: true },
  '3': { delete: true },
  '5': { pageUp: true },
  '6': { pageDown: true },
};

/** One escape sequence as Ink hands it over (ESC alone, ESC + a key, CSI or SS3). */
function escapeSequence(sequence: string): KeyPress {
  if (sequence === '\x1b' || sequence === '\x1b\x1b') return press('', { escape: true, meta: true });
  const csi = /^\x1b{1,2}(?:\[\[?|O)([\d;]*)([A-Za-z~])$/.exec(sequence);
  if (csi) {
    const [, parameters = '', final = ''] = csi;
    const [code = '', modifier = ''] = parameters.split(';');
    const named = final === '~' ? TILDE[code] : FINAL[final];
    if (!named) return press('');
    const bits = Number(modifier || '1') - 1; // xterm: 1 + shift + 2·alt + 4·ctrl
    return press('', { ...named, shift: Boolean(named.shift) || (bits & 1) !== 0, meta: (bits & 2) !== 0 || sequence.startsWith('\x1b\x1b'), ctrl: (bits & 4) !== 0 });
  }
  // ESC + one key: Alt/Meta held.
  const rest = sequence.slice(1);
  const inner = splitKeys(rest);
  if (inner.length === 1) return { input: inner[0]!.input, key: { ...inner[0]!.key, meta: true } };
  return press('');
}

/**
 * Splits what the terminal sent into single key presses, in order. Ink already cuts
 * its chunks at escape sequences; a run of plain bytes may still hold many keys:
 * "abc\x7f\x7f\tdef\r" is a, b, c, Backspace, Backspace, Tab, d, e, f, Enter.
 */
export function splitKeys(chunk: string): KeyPress[] {
  if (chunk.startsWith('\x1b')) return [escapeSequence(chunk)];
  const keys: KeyPress[] = [];
  const characters = [...chunk];
  for (let index = 0; index < characters.length; index++) {
    const character = characters[index]!;
    if (character === '\r' || character === '\n') {
      if (character === '\r' && characters[index + 1] === '\n') index++; // CR LF is one Enter
      keys.push(press('', { return: true }));
    } else if (character === '\t') keys.push(press('', { tab: true }));
    else if (character === '\x7f' || character === '\b') keys.push(press('', { backspace: true }));
    else if (character === '\x00') keys.push(press(' ', { ctrl: true }));
    else if (character < ' ') keys.push(press(String.fromCharCode(character.charCodeAt(0) + 96), { ctrl: true }));
    else if (/^\p{Cc}$|^\p{Cf}$/u.test(character) && character !== '\u200d') continue; // C1 controls, bidi marks: never typed text
    else keys.push(press(character, { shift: /^[A-Z]$/.test(character) }));
  }
  return keys;
}

/** A key that types a character into a text field (not a command key). */
export function isPrintable({ input, key }: KeyPress): boolean {
  return input !== '' && !key.ctrl && !key.meta;
}

// Key helpers shared by the screens: "yes" is Y in English and O (oui) in French.
export function isYes(input: string): boolean {
  return /^[yo]$/i.test(input);
}

export function isNo(input: string): boolean {
  return /^n$/i.test(input);
}
