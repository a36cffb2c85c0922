// Issue 13: the executable's openpgp.js builds its JavaScript AES tables on first use, not when
// the module is evaluated (scripts/build-exe.ts lazyAesTables, docs/decisions/executables.md).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import * as openpgp from 'openpgp';
import { lazyAesTables } from '../scripts/build-exe.js';

const OPENPGP_DIST = join(createRequire(import.meta.url).resolve('openpgp'), '..', 'openpgp.mjs');
const source = readFileSync(OPENPGP_DIST, 'utf8');
const work = mkdtempSync(join(tmpdir(), 'caliop-lazy-aes-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('openpgp.js AES tables built on first use (lazyAesTables)', () => {
  it('leaves no table built when the module is evaluated, and refuses a source of another shape', () => {
    const lazy = lazyAesTables(source);
    expect(lazy).toBeDefined();
    expect(source).toMatch(/^const tableEncoding = \/\* @__PURE__ \*\/ genTtable\(/m);
    expect(lazy).not.toMatch(/^const \w+ = \/\* @__PURE__ \*\/ genTtable\(/m);
    expect(lazy!.length - source.length).toBeLessThan(400);
    expect(lazyAesTables(source.replace('const tableDecoding = /* @__PURE__ */ genTtable(', 'const tableDecoding = genTtable('))).toBeUndefined();
    expect(lazyAesTables('export const x = 1;')).toBeUndefined();
  });

  it('the transformed openpgp.js evaluates no genTtable and still encrypts with OCB (its JavaScript AES) what the original decrypts, and back', async () => {
    const file = join(work, 'openpgp-lazy.mjs');
    // Counts genTtable's runs: none while the module is evaluated, two at the first OCB encryption.
    writeFileSync(file, `${lazyAesTables(source)!.replace('function genTtable(sbox, fn) {', 'function genTtable(sbox, fn) {\n    globalThis.__caliopTables = (globalThis.__caliopTables ?? 0) + 1;')}\nexport const tablesBuilt = () => globalThis.__caliopTables ?? 0;\n`);
    const lazy = (await import(pathToFileURL(file).href)) as typeof openpgp & { tablesBuilt(): number };
    expect(lazy.tablesBuilt()).toBe(0);
    const config = { aeadProtect: true, preferredAEADAlgorithm: openpgp.enums.aead.ocb };
    const text = 'a message through OCB, whose AES is the JavaScript one';
    const sealed = await lazy.encrypt({ message: await lazy.createMessage({ text }), passwords: ['pw'], config, format: 'binary' });
    expect(lazy.tablesBuilt()).toBeGreaterThan(0);
    const opened = await openpgp.decrypt({ message: await openpgp.readMessage({ binaryMessage: sealed as Uint8Array }), passwords: ['pw'] });
    expect(opened.data).toBe(text);
    const back = await openpgp.encrypt({ message: await openpgp.createMessage({ text }), passwords: ['pw'], config, format: 'binary' });
    const reopened = await lazy.decrypt({ message: await lazy.readMessage({ binaryMessage: back as Uint8Array }), passwords: ['pw'] });
    expect(reopened.data).toBe(text);
  });
});
