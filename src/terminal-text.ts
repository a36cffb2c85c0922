// What a sender, a certificate or a relay wrote, made safe to print or draw
// (docs/threat-model.md §Terminal). Nothing from outside reaches a terminal
// as a control: no escape sequence (ESC[2J, OSC titles, hyperlinks), no C0/C1
// control, no carriage return that would overwrite a line, no bidirectional
// override or isolate that would reorder what the user reads (CVE-2021-42574,
// "Trojan Source"). Each such unit becomes one visible U+FFFD, so the user sees
// that something was there; text itself is left alone.

const REPLACEMENT = '\uFFFD';

// ECMA-48 §5.4: CSI (ESC [ or U+009B) parameters, intermediates, final byte.
const CSI = /(?:\u001b\[|\u009b)[\u0030-\u003f]*[\u0020-\u002f]*[\u0040-\u007e]?/gu;
// ECMA-48 §5.6: OSC, DCS, SOS, PM, APC strings up to ST (ESC \ or U+009C) or BEL.
const CONTROL_STRING = /(?:\u001b[\]PX^_]|[\u0090\u0098\u009d\u009e\u009f])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?/gu;
// Any other escape: ESC and the one character after it (ESC c resets the terminal).
const OTHER_ESCAPE = /\u001b[\u0020-\u007e]?/gu;
// Bidi embeddings/overrides U+202A-202E, isolates U+2066-2069, marks LRM/RLM/ALM.
const BIDI = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/gu;
// C0 (except tab and newline, handled below), DEL, C1.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/gu;
// Line breaks a terminal or Ink would honour.
const LINE_BREAK = /\r\n|[\n\u2028\u2029\u0085]/gu;

export interface TerminalTextOptions {
  /**
   * true for a body: newlines and tabs stay (CR LF becomes LF). false (the default)
   * for one field on one line (a subject, a name): every line break and tab becomes
   * a space, so a sender cannot start a line of their own under ours.
   */
  readonly multiline?: boolean;
}

/** The one sanitising function: every outside string passes through it before a terminal sees it. */
export function safeForTerminal(text: string, options: TerminalTextOptions = {}): string {
  let result = text.replace(CONTROL_STRING, REPLACEMENT).replace(CSI, REPLACEMENT).replace(OTHER_ESCAPE, REPLACEMENT);
  result = options.multiline === true ? result.replace(LINE_BREAK, '\n') : result.replace(LINE_BREAK, ' ').replace(/\t/gu, ' ');
  return result.replace(BIDI, REPLACEMENT).replace(CONTROL, REPLACEMENT);
}

/** Characters JSON.stringify leaves raw that a terminal may still act on (C1, DEL, bidi, line separators). */
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/**
 * JSON for a terminal or a pipe: the same value, but every unit a terminal could act on
 * written as a \uXXXX escape (JSON already escapes C0; this adds DEL, C1 and bidi).
 */
export function terminalSafeJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(JSON_UNSAFE, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
