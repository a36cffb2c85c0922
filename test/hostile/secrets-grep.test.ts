// Issue 12, "Secrets": the whole story — ceremony and enrolment, send, sync, read,
// recovery onto a second stick, send and sync from it — runs against a real relay
// while every caliop process lives in an empty host (HOME, TMPDIR, XDG folders, cwd:
// test/helpers/empty-host.ts). Then every error stream, every standard output but the
// ceremony's (which must show the sheet), the relay's output and log files, its
// database with WAL, shm and nonce files, the host folders and the sticks themselves
// are searched for: the passphrase, any three consecutive recovery words, the seed and
// every key derived from it (raw, hex, base64, base64url), and the body of internal
// mail. Zero hits. The search is shown to work on the ceremony's own output.

import { readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DERIVATION_INFO, deriveKeyMaterial, type DerivedKeyRole } from '../../src/core/key-derivation.js';
import { parseRecoverySheet } from '../../src/core/recovery-sheet.js';
import { UNSAFE_TEST_RELAY_TIMEOUT_ENV } from '../../src/edges/relay-client.js';
import { caliop, temporaryFolder, type CaliopRun, type InitResult } from '../helpers/caliop.js';
import { emptyHost, type EmptyHost } from '../helpers/empty-host.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';

const DOMAIN = 'caliop.example';
const PASSPHRASE = 'correct horse battery staple, but for the secrets grep 7';
const BODY = 'Internal body that only the two sticks may ever hold: rendez-vous quai 9 at 06:40';
const scratch = temporaryFolder('secrets');
let relay: RelayProcess;
let host: EmptyHost;
/** Everything a user or an operator could see, by where it came from. */
const streams: { name: string; bytes: Buffer }[] = [];
let ceremonyOutput = '';

function run(stick: string, args: readonly string[], input = ''): Promise<CaliopRun> {
  // The tests' CLI is not a release build: of emptyHost's test switches (each set to 1) it keeps the
  // test KDF, and the relay client's own 30 s timeout (a 1 ms one would fail every request).
  return caliop(['--stick', stick, '--passphrase-file', '@ENV:CALIOP_PASSPHRASE', ...args], { env: { ...host.env, CALIOP_UNSAFE_TEST_KDF: '1', [UNSAFE_TEST_RELAY_TIMEOUT_ENV]: undefined }, input });
}

async function step(name: string, stick: string, args: readonly string[], input = '', keepStdout = true): Promise<CaliopRun> {
  const result = await run(stick, args, input);
  expect(result.status, `${name}: ${result.stderr}`).toBe(0);
  streams.push({ name: `${name} stderr`, bytes: Buffer.from(result.stderr) });
  if (keepStdout) streams.push({ name: `${name} stdout`, bytes: result.stdoutBytes });
  return result;
}

function filesUnder(root: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(path));
    else if (entry.isFile()) found.push(path);
  }
  return found;
}

/** The needles: each secret in every form it could leak in. */
function needlesFor(secrets: { name: string; text?: string; bytes?: Uint8Array }[]): { name: string; needle: Buffer }[] {
  const needles: { name: string; needle: Buffer }[] = [];
  for (const secret of secrets) {
    if (secret.text !== undefined) needles.push({ name: secret.name, needle: Buffer.from(secret.text) });
    if (secret.bytes !== undefined) {
      const bytes = Buffer.from(secret.bytes);
      needles.push({ name: `${secret.name} (raw)`, needle: bytes });
      for (const encoding of ['hex', 'base64', 'base64url'] as const) {
        // A prefix of 24 characters: found even when the encoding is cut or wrapped later.
        needles.push({ name: `${secret.name} (${encoding})`, needle: Buffer.from(bytes.toString(encoding).slice(0, 24)) });
      }
      needles.push({ name: `${secret.name} (HEX)`, needle: Buffer.from(bytes.toString('hex').toUpperCase().slice(0, 24)) });
    }
  }
  return needles;
}

function hits(haystacks: { name: string; bytes: Buffer }[], needles: { name: string; needle: Buffer }[]): string[] {
  const found: string[] = [];
  for (const haystack of haystacks) for (const { name, needle } of needles) if (haystack.bytes.includes(needle)) found.push(`${name} in ${haystack.name}`);
  return found;
}

beforeAll(async () => {
  mkdirSync(join(scratch.path, 'host'));
  host = emptyHost(join(scratch.path, 'host'), PASSPHRASE);
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay-data'), port: 0, store: 'sqlite' });
});

afterAll(async () => {
  await relay?.stop();
  scratch.remove();
});

it('no secret in any stream, log, relay file, host folder or stick after the whole story', async () => {
  const [alice, bob, aliceAgain] = ['alice', 'bob', 'alice-recovered'].map((name) => {
    const stick = join(scratch.path, name);
    mkdirSync(stick);
    return stick;
  }) as [string, string, string];
  const enrol = ['--allow-online', '--server', relay.url, '--server-pin', relay.pin!];

  // The ceremony: its standard output is the recovery sheet, meant for the user.
  const ceremony = await step('alice init', alice, ['--batch', '--json', 'init', '--name', 'Alice', '--email', `alice@${DOMAIN}`, ...enrol], '', false);
  ceremonyOutput = ceremony.stdout;
  const aliceInit = JSON.parse(ceremony.stdout) as InitResult;
  await step('bob init', bob, ['--batch', '--json', 'init', '--name', 'Bob', '--email', `bob@${DOMAIN}`, ...enrol], '', false);

  await step('alice send', alice, ['--json', 'send', '--to', `bob@${DOMAIN}`, '--subject', 'quai 9'], BODY);
  await step('bob sync', bob, ['--json', 'sync']);
  const inbox = JSON.parse((await step('bob inbox', bob, ['--json', 'inbox'])).stdout) as { id: string }[];
  // The body is meant for this output: read's stdout is not searched for the body below.
  const read = await run(bob, ['read', inbox[0]!.id]);
  expect(read.stdout).toContain(BODY);
  streams.push({ name: 'bob read stderr', bytes: Buffer.from(read.stderr) });
  await step('alice sync', alice, ['--json', 'sync']);

  // Recovery onto an empty stick from the sheet (a file the user typed: in the host's cwd, removed after).
  const sheetFile = join(scratch.path, 'sheet.txt');
  writeFileSync(sheetFile, aliceInit.recoverySheet);
  await step('alice recover', aliceAgain, ['--batch', '--json', 'recover', '--phrase-file', sheetFile, '--allow-online']);
  await step('recovered enrol', aliceAgain, ['relay', 'enrol', '--server', relay.url, '--server-pin', relay.pin!, '--device-name', 'spare']);
  await step('bob replies', bob, ['--json', 'send', '--to', `alice@${DOMAIN}`, '--subject', 'reçu'], 'bien reçu');
  const recovered = await step('recovered sync', aliceAgain, ['--json', 'sync']);
  expect(JSON.parse(recovered.stdout)).toMatchObject({ received: 1 });
  // The relay's files while it runs (the WAL and nonce files are live), then after it stopped.
  const runningRelayFiles = filesUnder(relay.dataDir).map((path) => ({ name: `relay file while running ${path.slice(relay.dataDir.length)}`, bytes: readFileSync(path) }));
  await relay.stop(); // its last log lines and the final checkpoint reach the files

  const sheet = await parseRecoverySheet(aliceInit.recoverySheet);
  const words = aliceInit.recoveryPhrase.split(' ');
  expect(words).toHaveLength(24);
  const secrets = [
    { name: 'passphrase', text: PASSPHRASE },
    ...words.slice(0, -2).map((_, at) => ({ name: `recovery words ${at + 1}-${at + 3}`, text: words.slice(at, at + 3).join(' ') })),
    { name: 'seed', bytes: sheet.seed },
    ...(Object.keys(DERIVATION_INFO) as DerivedKeyRole[]).map((role) => ({ name: `${role} key`, bytes: deriveKeyMaterial(sheet.seed, role) })),
  ];
  const needles = needlesFor(secrets);
  const bodyNeedle = [{ name: 'internal body', needle: Buffer.from(BODY) }, { name: 'internal body (part)', needle: Buffer.from('rendez-vous quai 9') }];

  const haystacks = [
    ...streams,
    { name: 'relay stdout+stderr', bytes: Buffer.from(relay.stderrLines.join('\n')) },
    ...runningRelayFiles,
    ...filesUnder(relay.dataDir).map((path) => ({ name: `relay file ${path.slice(relay.dataDir.length)}`, bytes: readFileSync(path) })),
    ...Object.values(host.dirs).flatMap((dir) => filesUnder(dir)).map((path) => ({ name: `host file ${path}`, bytes: readFileSync(path) })),
    ...[alice, bob, aliceAgain].flatMap((stick) => filesUnder(stick)).map((path) => ({ name: `stick file ${path}`, bytes: readFileSync(path) })),
  ];
  const relayFiles = [...new Set([...runningRelayFiles.map((file) => file.name.replace('relay file while running ', '')), ...filesUnder(relay.dataDir).map((path) => path.slice(relay.dataDir.length))])];
  expect(relayFiles).toEqual(expect.arrayContaining(['/relay.sqlite', '/relay.sqlite-wal']));
  const searchedBytes = haystacks.reduce((sum, haystack) => sum + haystack.bytes.length, 0);
  const found = [...hits(haystacks, needles), ...hits(haystacks, bodyNeedle)];

  // The search works: the ceremony's sheet holds the words, and the stick's store holds mail (sealed).
  const control = hits([{ name: 'ceremony stdout', bytes: Buffer.from(ceremonyOutput) }], needles);
  expect(control.filter((hit) => hit.startsWith('recovery words'))).toHaveLength(22);
  console.log(
    `secrets grep: ${needles.length + bodyNeedle.length} needles (${secrets.length} secrets) over ${haystacks.length} streams and files (${(searchedBytes / 1048576).toFixed(1)} MiB; relay files: ${relayFiles.join(', ')}; host folders: ${Object.keys(host.dirs).join(', ')}): ${found.length} hits; control: ${control.length} hits in the ceremony's own output`,
  );
  expect(found).toEqual([]);
  // Host folders stayed empty altogether (docs/stick-layout.md §1).
  expect(Object.values(host.dirs).flatMap((dir) => filesUnder(dir))).toEqual([]);
  expect(statSync(join(relay.dataDir, 'relay.sqlite')).size).toBeGreaterThan(0);
}, 600_000);
