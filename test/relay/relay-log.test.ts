// The relay's log (docs/disclosure.md §2): the hot routes write the request lines of a
// turn in one call (RelayLog.writeLines, src/relay/hot-routes.ts); it must give the same
// bytes, on stderr and in the day files, as writing them one by one.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RequestLogLine } from '../../src/relay/middleware/request-log.js';
import { logFolder, RelayLog } from '../../src/relay/relay-log.js';

const folders: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

const line = (time: string, status: number): RequestLogLine => ({ time, event: 'request', method: 'GET', route: '/v1/messages', status, durationMs: 1.5, device: 'abcdef012345' });
/** Two lines on either side of midnight (UTC): two day files. */
const LINES = [line('2026-12-01T23:59:59.900Z', 200), line('2026-12-01T23:59:59.950Z', 401), line('2026-12-02T00:00:00.010Z', 204)];

/** What `write` puts on stderr and in DIR/log, given the lines one way or the other. */
async function written(how: 'one by one' | 'together'): Promise<{ stderr: string; files: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'caliop-relay-log-'));
  folders.push(dir);
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  const log = new RelayLog(dir, () => new Date('2026-12-01T12:00:00.000Z'));
  if (how === 'together') log.writeLines(LINES);
  else for (const each of LINES) log.write({ ...each });
  await log.close();
  vi.restoreAllMocks();
  const files = ['relay-2026-12-01.jsonl', 'relay-2026-12-02.jsonl'].map((name) => readFileSync(join(logFolder(dir), name), 'utf8'));
  return { stderr, files };
}

describe('RelayLog.writeLines', () => {
  it('the same bytes on stderr and in the day files as the lines written one by one', async () => {
    const apart = await written('one by one');
    const together = await written('together');
    expect(together).toEqual(apart);
    expect(together.stderr.split('\n').filter((text) => text !== '').map((text) => JSON.parse(text) as unknown)).toEqual(LINES);
    expect(together.files.map((text) => text.split('\n').length - 1)).toEqual([2, 1]);
  });

  it('one write on stderr for the lines of a turn', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caliop-relay-log-'));
    folders.push(dir);
    const writes = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const log = new RelayLog(dir, () => new Date());
    log.writeLines(LINES);
    expect(writes).toHaveBeenCalledTimes(1);
    vi.restoreAllMocks();
    await log.close();
  });
});
