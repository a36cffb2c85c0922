// One error printer for caliop, caliop-flash and caliop-relay (issue 17, src/error-printer.ts):
// what it writes, and that no program writes an error line by hand.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorText } from '../src/error-printer.js';

describe('the shared error printer', () => {
  it('writes an error line, a hint line, the cause only with --debug, then the usage', () => {
    expect(errorText('caliop-relay', { message: '--data DIR is required' }, { after: 'usage: caliop-relay …' })).toBe('caliop-relay: error: --data DIR is required\nusage: caliop-relay …\n');
    expect(errorText('caliop-flash', { message: 'not confirmed', hint: 'answer "yes"' })).toBe('caliop-flash: error: not confirmed\ncaliop-flash: hint: answer "yes"\n');
    const cause = new Error('deep down');
    expect(errorText('caliop', { message: 'failed', hint: 'retry', cause })).not.toContain('deep down');
    expect(errorText('caliop', { message: 'failed', hint: 'retry', cause }, { debug: true })).toMatch(/^caliop: debug: Error: deep down\n {4}at /m);
  });

  it('makes what a message quotes inert: no escape sequence reaches the terminal', () => {
    const text = errorText('caliop-relay', { message: 'the smarthost said \u001b[2J\u001b]0;pwned\u0007 550', hint: 'bidi \u202e reversed' });
    expect(text).not.toMatch(/[\u001b\u0007\u202e]/u);
    expect(text.split('\n')).toHaveLength(3);
  });

  it('no program writes an error line to stderr by hand', () => {
    const root = join(import.meta.dirname, '../src');
    const files = (readdirSync(root, { recursive: true, encoding: 'utf8' }) as string[]).filter((name) => /\.tsx?$/.test(name) && name !== 'error-printer.ts');
    expect(files.length).toBeGreaterThan(100);
    const byHand = files.filter((name) => /process\.stderr\.write\([^)]*: error: /.test(readFileSync(join(root, name), 'utf8')));
    expect(byHand).toEqual([]);
  });
});
