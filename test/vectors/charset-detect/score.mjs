// docs/decisions/mime.md item 6: how the evaluation scripts of this folder score a reader of
// undeclared text on a file of samples (make-samples.py, make-fresh-samples.py): `read` gives
// the text a sample's bytes are shown as (timed); a sample is right when that is its text.
import { readFileSync } from 'node:fs';

export function readSamples(file) {
  return JSON.parse(readFileSync(file, 'utf8')).map((sample) => ({ ...sample, buf: Buffer.from(sample.bytes, 'base64') }));
}

/** Prints `file name: right/all (%), CPU a sample`, then (with `detail`) right/all by language/charset. */
export function score(file, samples, name, read, detail = true) {
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
  if (detail) console.log(`  ${[...byKey].map(([key, [good, all]]) => `${key} ${good}/${all}`).join(', ')}`);
}
