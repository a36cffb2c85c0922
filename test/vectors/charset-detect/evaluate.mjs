// docs/decisions/mime.md item 6: accuracy and cost of charset detectors on the samples of
// make-samples.py (2026-12-01). A sample is right when the stick's decodeText with the
// detected label gives back its text exactly. Kept for the record; not a test. The
// detectors were not dependencies of the project then (jschardet is since 2026-12-02:
// evaluate-rule.mjs measures the rule that uses it); install them elsewhere, then
//   npm install --prefix /tmp/det chardet@2.2.0 jschardet@4.0.0
//   npm run -s build && NODE_PATH=/tmp/det/node_modules node test/vectors/charset-detect/evaluate.mjs /tmp/samples.json /tmp/western.json
import { createRequire } from 'node:module';
import { decodeText } from '../../../build/src/core/text-charset.js';
import { readSamples, score } from './score.mjs';

const require = createRequire(`${process.env.NODE_PATH ?? '.'}/`);
const jschardet = require('jschardet');
const chardet = require('chardet');

/**
 * A gate: the fixed guess (windows-1252) unless its reading is implausible, i.e. most 8-bit
 * bytes stand in runs of 3 or more (the words of a non-Latin script), where Western text has
 * an accented letter here and there.
 */
function nonLatin(bytes) {
  let high = 0;
  let inLong = 0;
  let run = 0;
  const close = () => {
    if (run >= 3) inLong += run;
    run = 0;
  };
  for (const byte of bytes) {
    if (byte >= 0x80) {
      high += 1;
      run += 1;
    } else close();
  }
  close();
  return high > 0 && inLong / high >= 0.5;
}

const detectors = {
  'fixed windows-1252 (today)': () => 'windows-1252',
  'chardet 2.2.0': (bytes) => chardet.detect(bytes) ?? 'windows-1252',
  'jschardet 4.0.0': (bytes) => jschardet.detect(bytes)?.encoding ?? 'windows-1252',
  'gate + chardet': (bytes) => (nonLatin(bytes) ? chardet.detect(bytes) ?? 'windows-1252' : 'windows-1252'),
  'gate + jschardet': (bytes) => (nonLatin(bytes) ? jschardet.detect(bytes)?.encoding ?? 'windows-1252' : 'windows-1252'),
};
// Since 2026-12-02 (score.mjs, shared with evaluate-rule.mjs) the CPU a sample includes the
// decoding with the detected label (10-25 µs), which the figures of 2026-12-01 did not.
for (const file of process.argv.slice(2)) {
  const samples = readSamples(file);
  for (const [name, detect] of Object.entries(detectors)) score(file, samples, name, (bytes) => decodeText(bytes, detect(bytes)).text);
}
