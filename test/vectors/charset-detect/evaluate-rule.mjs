// docs/decisions/mime.md item 6 (2026-12-02): the rule as shipped, decodeUndeclared of
// src/api/undeclared-text.ts with the detector loaded (jschardet, src/api/charset-detector.ts),
// against the fixed windows-1252 guess and jschardet's bare answer, on the samples of
// make-samples.py (the rule was tuned on them) and make-fresh-samples.py (it was not). A
// sample is right when the text shown is its text exactly. Kept for the record; not a test.
//   npm run -s build && node test/vectors/charset-detect/evaluate-rule.mjs /tmp/samples.json /tmp/western.json /tmp/fresh.json /tmp/fresh-western.json
import jschardet from 'jschardet';
import { decodeText } from '../../../build/src/core/text-charset.js';
import { decodeUndeclared, loadCharsetDetector } from '../../../build/src/api/undeclared-text.js';
import { readSamples, score } from './score.mjs';

const files = process.argv.slice(2).map((file) => [file, readSamples(file)]);
const run = (name, read) => {
  for (const [file, samples] of files) score(file, samples, name, read, process.env.DETAIL !== undefined);
};
run('fixed windows-1252 (main)', (bytes) => decodeUndeclared(bytes).text); // before loading: the fixed guess
run('jschardet 4.0.0 alone', (bytes) => decodeText(bytes, jschardet.detect(bytes)?.encoding ?? 'windows-1252').text);
await loadCharsetDetector();
run('ours: the rule (detector lazily loaded)', (bytes) => decodeUndeclared(bytes).text);
