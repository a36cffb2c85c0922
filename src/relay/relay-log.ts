// The relay's log (docs/disclosure.md §2): one JSON line per event on stderr, for the
// operator's log system, and the same line in DIR/log/relay-YYYY-MM-DD.jsonl (UTC day),
// the copy the relay itself answers for: `caliop-relay disclosure` reads the lines
// that name an account from it, and the IP retention period is enforced on it.

import { withoutIpAddresses } from './ip-scrub.js';
import { appendFileSync, createWriteStream, existsSync, readdirSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { makeFolderSync, writeFileDurablySync } from './durable-file.js';

/** docs/disclosure.md §3: client and server IPs leave the relay's logs after this many days, by default. */
export const DEFAULT_IP_RETENTION_DAYS = 7;

const DAY_FILE = /^relay-(\d{4}-\d{2}-\d{2})\.jsonl$/;
const SCRUBBED_FILE = /^relay-(\d{4}-\d{2}-\d{2})\.noip\.jsonl$/;

/** The day file is written at most this long after a line (or at FILE_FLUSH_BYTES pending). */
const FILE_FLUSH_MS = 50;
const FILE_FLUSH_BYTES = 64 * 1024;

export function logFolder(dataDir: string): string {
  return join(dataDir, 'log');
}

export class RelayLog {
  readonly #folder: string;
  readonly #clock: () => Date;
  #day = '';
  #stream: WriteStream | null = null;
  /**
   * Lines for the day file, written together (one write per FILE_FLUSH_MS, not one per line:
   * each write is a trip to libuv's thread pool, 5% of the relay's CPU in the bench when made
   * once per turn). The file is not fsynced either way; the lines still pending reach it when
   * the process exits.
   */
  #pending = '';
  #flushScheduled = false;

  constructor(dataDir: string, clock: () => Date) {
    this.#folder = logFolder(dataDir);
    this.#clock = clock;
    makeFolderSync(this.#folder);
    // The last turn's lines still reach the day file when the process exits (process.exit included).
    process.once('exit', () => this.#flushSync());
  }

  /** Writes one line; `time` is added unless the line has one. */
  write(fields: Record<string, unknown>): void {
    const time = typeof fields.time === 'string' ? fields.time : this.#clock().toISOString();
    const line = `${JSON.stringify({ time, ...fields })}\n`;
    // stderr at once (synchronous on pipes and files): a line is out before the answer it logs
    // (batched at the end of the tick, the answer went first: test/relay/authorization pin_mismatch).
    process.stderr.write(line);
    this.#toDayFile(line, time);
  }

  /**
   * Writes lines that each begin with their `time` (request lines: middleware/request-log.ts),
   * in one write on stderr: the hot routes' lines of one turn, written before their answers
   * (hot-routes.ts). The same bytes as `write` line by line.
   */
  writeLines(lines: readonly { readonly time: string }[]): void {
    let text = '';
    const each: string[] = [];
    for (const fields of lines) {
      const line = `${JSON.stringify(fields)}\n`;
      each.push(line);
      text += line;
    }
    if (text === '') return;
    process.stderr.write(text);
    lines.forEach((fields, index) => this.#toDayFile(each[index] as string, fields.time));
  }

  #toDayFile(line: string, time: string): void {
    const day = time.slice(0, 10);
    if (day !== this.#day || this.#stream === null) {
      this.#flush();
      this.#stream?.end();
      this.#day = day;
      this.#stream = createWriteStream(join(this.#folder, `relay-${day}.jsonl`), { flags: 'a', mode: 0o600 });
      this.#stream.on('error', (error) => process.stderr.write(`${JSON.stringify({ time, event: 'log_file_error', error: error.message })}\n`));
    }
    this.#pending += line;
    if (this.#pending.length >= FILE_FLUSH_BYTES) this.#flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setTimeout(() => this.#flush(), FILE_FLUSH_MS).unref();
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#pending === '') return;
    this.#stream?.write(this.#pending);
    this.#pending = '';
  }

  #flushSync(): void {
    if (this.#pending === '' || this.#day === '') return;
    try {
      appendFileSync(join(this.#folder, `relay-${this.#day}.jsonl`), this.#pending, { mode: 0o600 });
    } catch {
      // Exiting: nowhere left to say it.
    }
    this.#pending = '';
  }

  /** Flushes the day file. */
  close(): Promise<void> {
    this.#flush();
    const stream = this.#stream;
    this.#stream = null;
    return new Promise((resolve) => (stream === null ? resolve() : stream.end(resolve)));
  }
}

/** The line without IP addresses: every `ip` field blanked, addresses cut from strings (ip-scrub.ts: bracketed, EHLO literals, bare). */
export function lineWithoutIps(line: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return JSON.stringify({ event: 'unreadable_log_line_dropped' });
  }
  const scrub = (value: unknown, key: string): unknown => {
    if (key === 'ip' || key === 'remoteAddress') return '';
    if (typeof value === 'string') return withoutIpAddresses(value);
    if (Array.isArray(value)) return value.map((item) => scrub(item, ''));
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, k)]));
    return value;
  };
  return JSON.stringify(scrub(parsed, ''));
}

/**
 * docs/disclosure.md §3: rewrites, without IPs, every day file whose whole day ended
 * at or before `before`, as relay-DAY.noip.jsonl. Returns the days scrubbed. A day
 * file is no longer appended to once its day is over, so this never races a writer.
 */
export function dropLogIpsBefore(dataDir: string, before: Date): string[] {
  const folder = logFolder(dataDir);
  if (!existsSync(folder)) return [];
  const scrubbed: string[] = [];
  for (const name of readdirSync(folder).sort()) {
    const day = DAY_FILE.exec(name)?.[1];
    if (day === undefined) continue;
    const dayEnd = new Date(`${day}T00:00:00.000Z`).getTime() + 86_400_000;
    if (dayEnd > before.getTime()) continue;
    const source = join(folder, name);
    const target = join(folder, `relay-${day}.noip.jsonl`);
    // A scrubbed copy already there: a crash came between the rename and the removal below.
    if (!existsSync(target)) {
      const lines = readFileSync(source, 'utf8').split('\n').filter((line) => line !== '');
      writeFileDurablySync(target, lines.map((line) => `${lineWithoutIps(line)}\n`).join(''));
    }
    // Removed only once the scrubbed copy is in place.
    rmSync(source);
    scrubbed.push(day);
  }
  return scrubbed;
}

/** Every line of the relay's log files, oldest day first (for `caliop-relay disclosure`). */
export function readLogLines(dataDir: string): string[] {
  const folder = logFolder(dataDir);
  if (!existsSync(folder)) return [];
  const days = readdirSync(folder)
    .map((name) => ({ name, day: DAY_FILE.exec(name)?.[1] ?? SCRUBBED_FILE.exec(name)?.[1] }))
    .filter((file): file is { name: string; day: string } => file.day !== undefined)
    .sort((a, b) => (a.day === b.day ? (a.name.includes('.noip.') ? -1 : 1) : a.day < b.day ? -1 : 1));
  return days.flatMap(({ name }) => readFileSync(join(folder, name), 'utf8').split('\n').filter((line) => line !== ''));
}
