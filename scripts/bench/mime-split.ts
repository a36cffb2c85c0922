// docs/decisions/mime-stream.md: peak RSS and CPU of reading a message with one base64
// attachment, postal-mime on the whole message against the streamed splitter given 64 KiB
// at a time. One mode per process, so that each peak (VmHWM) is its own.
//
//   npx tsc -p . && node build/scripts/bench/mime-split.js postal|stream MiB
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readMailContent } from '../../src/core/mail-content.js';
import { MimeStreamSplitter } from '../../src/core/mime-stream.js';

const rssMiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
const [mode = 'stream', mib = '8'] = process.argv.slice(2);
const head = Buffer.from('From: a@b.test\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=x.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n');
const block = randomBytes(57 * 1024 * 4);
function* slices(): Generator<Buffer> {
  yield head;
  for (let done = 0; done < Number(mib) * 1024 * 1024; done += block.length) yield Buffer.from(block.toString('base64').replace(/(.{76})/g, '$1\r\n'));
  yield Buffer.from('\r\n--b--\r\n');
}
const idle = rssMiB();
const started = process.cpuUsage();
if (mode === 'postal') {
  if ((await readMailContent(Buffer.concat([...slices()]))).attachments.length !== 1) throw new Error('no attachment');
} else {
  const splitter = new MimeStreamSplitter({ openAttachment: async () => ({ write: async () => undefined, end: async () => undefined }) });
  for (const slice of slices()) for (let offset = 0; offset < slice.length; offset += 65536) await splitter.write(slice.subarray(offset, offset + 65536));
  await splitter.end();
}
const cpu = process.cpuUsage(started);
console.log(`${mode} ${mib} MiB: peak RSS +${(rssMiB() - idle).toFixed(0)} MiB (idle ${idle.toFixed(0)} MiB), CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`);
