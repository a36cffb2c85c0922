// A TCP proxy between a stick and the real relay that can lose the relay's answer:
// armed, it forwards the stick's bytes as they come but withholds every byte the relay
// sends once `committed()` says the relay has made a submission durable. TLS passes
// through untouched (the stick still checks the relay's pin end to end), so the stick
// sees exactly what a cut cable or a pulled stick would: its request accepted, no
// answer. It can also refuse every new connection, as a relay out of reach would
// (test/hostile/pulled-stick.test.ts queues mail in an outbox that way). Test-only.

import net from 'node:net';

export interface WithholdingProxy {
  readonly port: number;
  /** From now on, withhold the relay's bytes once `committed()` resolves true; resolves when something was withheld. */
  arm(committed: () => Promise<boolean> | boolean): Promise<void>;
  disarm(): void;
  /** While true, every new connection is reset at once (the stick sees relay_unreachable). */
  refuse(on: boolean): void;
  /** While true, the relay's bytes wait here, in order, and go on when it is set false (a slow relay: test/stick-lock.test.ts holds a sync mid-way so). */
  hold(on: boolean): void;
  /** Bytes of the relay waiting while held. */
  heldBytes(): number;
  close(): Promise<void>;
}

export async function startWithholdingProxy(upstreamPort: number): Promise<WithholdingProxy> {
  let armed: { committed: () => Promise<boolean> | boolean; withheld: () => void } | null = null;
  let refusing = false;
  let holding = false;
  const waiting: Array<{ client: net.Socket; chunk: Buffer }> = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => {
      if (holding) {
        waiting.push({ client, chunk });
        return;
      }
      const trap = armed;
      if (trap === null) {
        client.write(chunk);
        return;
      }
      // In order: nothing more is read from the relay until this chunk is decided.
      upstream.pause();
      void Promise.resolve(trap.committed()).then(
        (committed) => {
          if (committed) trap.withheld();
          else client.write(chunk);
          upstream.resume();
        },
        () => end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    arm(committed) {
      return new Promise<void>((resolve) => {
        armed = { committed, withheld: resolve };
      });
    },
    disarm() {
      armed = null;
    },
    refuse(on) {
      refusing = on;
    },
    hold(on) {
      holding = on;
      if (!on) for (const { client, chunk } of waiting.splice(0)) client.write(chunk);
    },
    heldBytes: () => waiting.reduce((sum, { chunk }) => sum + chunk.length, 0),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
