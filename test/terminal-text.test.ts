// src/terminal-text.ts: nothing a sender writes is interpreted by the terminal.
import { describe, expect, it } from 'vitest';
import { safeForTerminal, terminalSafeJson } from '../src/terminal-text.js';

const ESC = '\u001b';
const DANGEROUS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u;

describe('safeForTerminal', () => {
  it('terminal_escape_clear_screen: ESC[2J and the fake signature line after it are inert', () => {
    const subject = `hello${ESC}[2J${ESC}[HSignature: good (verified) ####`;
    const safe = safeForTerminal(subject);
    expect(safe).not.toContain(ESC);
    expect(safe).toBe('hello\uFFFD\uFFFDSignature: good (verified) ####');
  });

  it('a subject cannot start a line of its own; a body keeps its lines but not its carriage returns', () => {
    expect(safeForTerminal('a\nSignature: good\r\nb\u2028c')).toBe('a Signature: good b c');
    expect(safeForTerminal('line one\r\nline two\rOVERWRITE\n\tindented', { multiline: true })).toBe('line one\nline two\uFFFDOVERWRITE\n\tindented');
  });

  it('trojan_source_bidi: overrides, embeddings, isolates and marks are shown as U+FFFD', () => {
    const tricky = 'invoice\u202Efdp.exe \u2066x\u2069 \u200F\u061C';
    const safe = safeForTerminal(tricky);
    expect(safe).not.toMatch(DANGEROUS);
    expect(safe).toBe('invoice\uFFFDfdp.exe \uFFFDx\uFFFD \uFFFD\uFFFD');
  });

  it('OSC (title, hyperlink), DCS, C1 CSI, bell and backspace are removed whole', () => {
    const osc = `${ESC}]0;pwned${'\u0007'}x${ESC}]8;;http://evil${ESC}\\link${ESC}]8;;${ESC}\\`;
    expect(safeForTerminal(osc)).toBe('\uFFFDx\uFFFDlink\uFFFD');
    expect(safeForTerminal(`a\u009b31mb${ESC}Pq#0${ESC}\\c\u0007\u0008${ESC}c`)).toBe('a\uFFFDb\uFFFDc\uFFFD\uFFFD\uFFFD');
  });

  it('plain text, accents, emoji and right-to-left scripts themselves are left alone', () => {
    const text = 'Élodie — שלום مرحبا 🙂 tab\tand "quotes"';
    expect(safeForTerminal(text, { multiline: true })).toBe(text);
  });

  it('never leaves a dangerous unit, whatever the input (every code unit below U+2100, in every position)', () => {
    let count = 0;
    for (let code = 0; code < 0x2100; code += 1) {
      const unit = String.fromCharCode(code);
      for (const multiline of [false, true]) {
        const safe = safeForTerminal(`x${unit}[2J${unit}y`, { multiline });
        expect(safe, `U+${code.toString(16)}`).not.toMatch(DANGEROUS);
        count += 1;
      }
    }
    console.log(`safeForTerminal: ${count} single-unit cases, none dangerous`);
  });
});

describe('terminalSafeJson', () => {
  it('is the same value, with C1, DEL and bidi written as \\u escapes', () => {
    const value = { subject: `a${ESC}[2J\u009b\u202E\u2028z`, n: 1 };
    const text = terminalSafeJson(value);
    expect(text).not.toMatch(DANGEROUS);
    expect(text).not.toMatch(/[\u2028\u2029]/u);
    expect(JSON.parse(text)).toEqual(value);
  });
});
