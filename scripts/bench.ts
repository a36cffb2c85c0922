// `npm run bench`: every benchmark of Caliop Key, each against its named peer
// measured in the same run (issues 2, 3 and 5). Bounded, loopback only.
import { benchKeyGeneration } from './bench/key-generation.js';
import { benchVaultUnlock } from './bench/vault-unlock.js';
import { benchArgon2Engines } from './bench/argon2-engines.js';
import { benchRelayThroughput } from './bench/relay-throughput.js';
import { benchFlashThroughput } from './bench/flash-throughput.js';
import { benchExeStartup } from './bench/exe-startup.js';
import { benchMessageStore } from './bench/message-store.js';
import { benchMailThroughput } from './bench/mail-throughput.js';
import { benchPipeStreaming } from './bench/pipe-streaming.js';
import { benchRelayTables } from './bench/relay-tables.js';
import { benchLargeAttachment, benchLargeOutboundSend, benchLargeSend } from './bench/large-attachment.js';
import { benchLargeSyncs } from './bench/large-sync.js';

type Bench = { name: string; run: () => Promise<{ name: string; lines: string[] }>; needsRoot?: boolean };

const benches: Bench[] = [
  { name: 'vault unlock', run: () => benchVaultUnlock() },
  { name: 'argon2 engines', run: () => benchArgon2Engines(3) },
  { name: 'key generation', run: () => benchKeyGeneration() },
  { name: 'relay throughput', run: () => benchRelayThroughput() },
  { name: 'executable start-up', run: () => benchExeStartup() },
  { name: 'message store', run: () => benchMessageStore() },
  { name: 'relay tables', run: () => benchRelayTables() },
  { name: 'send and sync', run: () => benchMailThroughput() },
  { name: 'encrypt and decrypt 100 MiB', run: () => benchPipeStreaming(100) },
  { name: 'encrypt and decrypt 10 MiB', run: () => benchPipeStreaming(10) },
  { name: 'a 10 MiB attachment', run: () => benchLargeAttachment(10) },
  { name: 'a 25 MiB attachment', run: () => benchLargeAttachment() },
  { name: 'attachments sent (10, 25 MiB)', run: () => benchLargeSend() },
  { name: 'a 25 MiB attachment synced, and the floor', run: () => benchLargeSyncs(25, 3) },
  { name: 'attachments sent to an outside address (10, 25 MiB)', run: () => benchLargeOutboundSend() },
  { name: 'flash throughput', run: () => benchFlashThroughput(), needsRoot: true },
];

const only = process.argv.slice(2);
let failed = 0;
for (const bench of benches) {
  if (only.length > 0 && !only.some((word) => bench.name.includes(word))) continue;
  if (bench.needsRoot && process.getuid?.() !== 0) {
    process.stdout.write(`\n== ${bench.name}: skipped (needs root for loop devices)\n`);
    continue;
  }
  try {
    const result = await bench.run();
    process.stdout.write(`\n== ${result.name}\n${result.lines.map((line) => `  ${line}`).join('\n')}\n`);
  } catch (error) {
    failed += 1;
    process.stdout.write(`\n== ${bench.name}: FAILED: ${(error as Error).message}\n`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
