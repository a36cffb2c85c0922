// docs/decisions/mime.md item 6 (2026-12-02): the rule as shipped, decodeUndeclared of
// src/api/undeclared-text.ts with the detector loaded (jschardet, src/api/charset-detector.ts),
// against the fixed windows-1252 guess and jschardet's bare answer, on the samples of
// make-samples.py (the rule was tuned on them) and make-fresh-samples.py (it was not). A
// sample is right when the text shown is its text exactly. Kept for the record; not a test.
//   npm run -s build && node test/vectors/charset-detect/evaluate-rule.mjs /tmp/samples.json /tmp/western.json /tmp/fresh.json /tmp/fresh-western.json
import { readFileSync } from 'node:fs';
import jschardet from 'jschardet';
import { decodeText } from '../../../build/src/core/text-charset.js';
import { decodeUndeclared, loadCharsetDetector } from '../../../build/src/api/undeclared-text.js';

const fixed = decodeUndeclared; // before loading: the fixed guess
const readers = {
  'fixed windows-1252 (main)': (bytes) => fixed(bytes).text,
  'jschardet 4.0.0 alone': (bytes) => decodeText(bytes, jschardet.detect(bytes)?.encoding ?? 'windows-1252').text,
};
const results = {};
for (const file of process.argv.slice(2)) {
  const samples = JSON.parse(readFileSync(file, 'utf8')).map((sample) => ({ ...sample, buf: Buffer.from(sample.bytes, 'base64') }));
  results[file] = samples;
}
async function run(name, read) {
  for (const [file, samples] of Object.entries(results)) {
    const byKey = new Map();
    let right = 0;
    const start = process.cpuUsage();
    const texts = samples.map((sample) => read(sample.buf));
    const used = process.cpuUsage(start);
    samples.forEach((sample, index) => {
      const good = texts[index] === sample.text;
      right += good ? 1 : 0;
      const key = `${sample.lang}/${sample.charset}`;
      const row = byKey.get(key) ?? [0, 0];
      row[0] += good ? 1 : 0;
      row[1] += 1;
      byKey.set(key, row);
    });
    console.log(`${file} ${name}: ${right}/${samples.length} (${((100 * right) / samples.length).toFixed(1)}%), ${((used.user + used.system) / samples.length).toFixed(0)} µs CPU a sample`);
    if (process.env.DETAIL) console.log(`  ${[...byKey].map(([key, [good, all]]) => `${key} ${good}/${all}`).join(', ')}`);
  }
}
await run('fixed windows-1252 (main)', readers['fixed windows-1252 (main)']);
await run('jschardet 4.0.0 alone', readers['jschardet 4.0.0 alone']);
await loadCharsetDetector();
await run('ours: the rule (detector lazily loaded)', (bytes) => decodeUndeclared(bytes).text);
