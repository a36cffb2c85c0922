// Relay throughput (issue 3 §What it must show): the real caliop-relay process on
// loopback (--dev-tls, pinned client), N concurrent clients (1, 8, 32), each
// doing for its messages: submit (to itself) -> list -> fetch -> delete, as a
// stick's send and sync would. Reports messages/s over the whole cycle, p50/p99
// latency of submit+list+fetch, and the relay process's peak RSS (VmHWM).
//
// Bounded: 256 messages per concurrency level; temporary data folder removed.
//
//   npx tsc -p . && node build/scripts/bench/relay-throughput.js

import { ed25519 } from '@noble/curves/ed25519.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as openpgp from 'openpgp';
import { buildEnrolmentStatement } from '../../src/api/enrolment-statement.js';
import { RelayClient } from '../../src/edges/relay-client.js';
import { startRelayProcess } from '../../src/relay/relay-process.js';

const CONCURRENCY = [1, 8, 32] as const;
const MESSAGES_PER_LEVEL = 256;
const PLAINTEXT_BYTES = 4096;
const DOMAIN = 'bench.test';

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function peakRssMiB(pid: number | undefined): string {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = Number(/^VmHWM:\s+([0-9]+) kB/m.exec(status)?.[1]);
    return `${(kib / 1024).toFixed(1)} MiB`;
  } catch {
    return 'unknown (no /proc)';
  }
}

/** User+system CPU seconds of a process so far (/proc/PID/stat fields 14-15, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

interface BenchUser {
  readonly address: string;
  readonly client: RelayClient;
  readonly armoredMessage: string;
}

async function makeUser(relay: { url: string; pin: string | undefined }, index: number): Promise<BenchUser> {
  const address = `user${index}@${DOMAIN}`;
  const { privateKey, publicKey } = await openpgp.generateKey({ userIDs: [{ email: address }], format: 'object' });
  const deviceSecretKey = ed25519.utils.randomSecretKey();
  const client = new RelayClient({ url: relay.url, pin: relay.pin, deviceSecretKey, domain: DOMAIN });
  const statement = buildEnrolmentStatement({ address, devicePublicKey: ed25519.getPublicKey(deviceSecretKey), domain: DOMAIN });
  const proofSignature = (await openpgp.sign({ message: await openpgp.createMessage({ text: statement }), signingKeys: privateKey, detached: true })) as string;
  await client.enrol({ address, armoredCert: publicKey.armor(), proofSignature });
  const armoredMessage = (await openpgp.encrypt({
    message: await openpgp.createMessage({ text: 'x'.repeat(PLAINTEXT_BYTES) }),
    encryptionKeys: publicKey,
    config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
  })) as string;
  return { address, client, armoredMessage };
}

export async function benchRelayThroughput(): Promise<{ name: string; lines: string[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'caliop-relay-bench-'));
  const relay = await startRelayProcess({
    dataDir,
    domain: DOMAIN,
    extraArgs: ['--rate-burst', '1000000', '--rate-per-minute', '1000000000'],
  });
  const users: BenchUser[] = [];
  const lines: string[] = [];
  try {
    for (let i = 0; i < Math.max(...CONCURRENCY); i++) users.push(await makeUser(relay, i));
    const size = Buffer.byteLength(users[0]!.armoredMessage);
    lines.push(`real caliop-relay on 127.0.0.1 (HTTPS, pinned, keep-alive), ${size}-byte armored messages, ${MESSAGES_PER_LEVEL} per level`);
    lines.push('cycle = submit -> list -> fetch -> delete; latency = submit+list+fetch');
    for (const concurrency of CONCURRENCY) {
      const perClient = Math.ceil(MESSAGES_PER_LEVEL / concurrency);
      const latencies: number[] = [];
      const started = performance.now();
      const relayCpuBefore = cpuSeconds(relay.child.pid);
      const benchCpuBefore = process.cpuUsage();
      await Promise.all(
        users.slice(0, concurrency).map(async (user) => {
          for (let i = 0; i < perClient; i++) {
            const t0 = performance.now();
            await user.client.submit({ to: [user.address], armoredMessage: user.armoredMessage });
            const [entry] = (await user.client.list({ limit: 1 })).messages;
            if (entry === undefined) throw new Error('submitted message not listed');
            const fetched = await user.client.fetch(entry.id);
            if (fetched.armoredMessage !== user.armoredMessage) throw new Error('fetched message differs');
            latencies.push(performance.now() - t0);
            await user.client.delete(entry.id);
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const relayCpu = cpuSeconds(relay.child.pid) - relayCpuBefore;
      const benchCpuUsage = process.cpuUsage(benchCpuBefore);
      const clientCpu = (benchCpuUsage.user + benchCpuUsage.system) / 1e6;
      latencies.sort((a, b) => a - b);
      const total = perClient * concurrency;
      lines.push(
        `${String(concurrency).padStart(2)} clients: ${(total / seconds).toFixed(0).padStart(5)} messages/s, ` +
          `p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms ` +
          `(${total} messages in ${seconds.toFixed(2)} s; CPU: relay ${relayCpu.toFixed(1)} s, clients ${clientCpu.toFixed(1)} s)`,
      );
    }
    lines.push(`relay peak RSS (VmHWM): ${peakRssMiB(relay.child.pid)}`);
    lines.push(`machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (clients and relay share the cores)`);
    return { name: 'relay throughput', lines };
  } catch (error) {
    const relayEvents = relay.stderrLines.filter((line) => !line.includes('"event":"request"')).slice(-5);
    throw new Error(`relay bench failed: ${(error as Error).message}; relay said: ${relayEvents.join(' | ')}`, { cause: error });
  } finally {
    for (const user of users) user.client.close();
    await relay.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchRelayThroughput();
  process.stdout.write(`${result.name}\n${result.lines.map((line) => `  ${line}`).join('\n')}\n`);
}
