// A small pool of worker threads for CPU-bound work (issue 13: "use both cores"): the
// main thread keeps the network and the stick's files while the workers compute.
// Generic: the program a worker runs is a module calling serveInWorker(); what the
// jobs are is that module's business (src/service/mail-open-worker.ts).
//
// docs/architecture.md §Worker threads: what a worker is given (secrets in memory only,
// by message, never on disk or in argv/env) and when it ends.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

export interface WorkerPool<Job, Result> {
  readonly size: number;
  /** Runs one job on the least busy worker. */
  run(job: Job): Promise<Result>;
  /** Ends every worker; jobs still running are refused. */
  close(): Promise<void>;
}

type Reply = { readonly id: number; readonly result?: unknown; readonly error?: string };

/** Where a worker's program is: a module file, or in a Node single executable, an asset holding it as a script. */
export interface WorkerProgram {
  readonly file: URL;
  /** The name of the asset (node:sea) that holds the same program bundled as a classic script. */
  readonly seaAsset?: string;
}

/**
 * The program's source when this process is a Node single executable carrying it as an
 * asset (the executable has no file to start a worker from); else undefined.
 */
function seaProgramSource(asset: string | undefined): string | undefined {
  if (asset === undefined || typeof process.getBuiltinModule !== 'function') return undefined;
  try {
    const sea = process.getBuiltinModule('node:sea') as typeof import('node:sea') | undefined;
    return sea?.isSea() ? sea.getAsset(asset, 'utf8') : undefined;
  } catch {
    return undefined; // no such asset (an older build), or no node:sea (Bun): this thread does the work
  }
}

/**
 * Starts `size` workers running `program`, each given `init` first (structured clone:
 * copied into the worker's memory). The module file when it is on disk; in a Node
 * single executable, its asset evaluated as a script (`eval: true`, as Argon2id's worker).
 * Returns undefined when neither is there (the Bun executable): the caller then does the
 * work in its own thread.
 */
export async function startWorkerPool<Init, Job, Result>(program: WorkerProgram, size: number, init: Init): Promise<WorkerPool<Job, Result> | undefined> {
  const entry = program.file;
  const onDisk = entry.protocol === 'file:' && existsSync(fileURLToPath(entry));
  const source = onDisk ? undefined : seaProgramSource(program.seaAsset);
  if (!onDisk && source === undefined) return undefined;
  const { Worker } = await import('node:worker_threads');
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let closed = false;
  const lanes = Array.from({ length: size }, () => {
    const worker = source === undefined ? new Worker(entry) : new Worker(source, { eval: true });
    const lane = { worker, busy: 0, failure: undefined as Error | undefined };
    const fail = (error: Error) => {
      lane.failure ??= error;
      for (const [id, job] of pending) {
        if ((job as Pending & { lane?: unknown }).lane === lane) {
          pending.delete(id);
          job.reject(error);
        }
      }
    };
    worker.on('message', (reply: Reply) => {
      const job = pending.get(reply.id);
      if (!job) return;
      pending.delete(reply.id);
      lane.busy -= 1;
      if (reply.error !== undefined) job.reject(new Error(reply.error));
      else job.resolve(reply.result);
    });
    worker.on('error', (error) => fail(error));
    worker.on('exit', (code) => {
      if (!closed) fail(new Error(`a worker thread exited (${code})`));
    });
    worker.postMessage({ init });
    return lane;
  });
  return {
    size,
    run(job: Job): Promise<Result> {
      if (closed) return Promise.reject(new Error('the worker pool is closed'));
      const lane = lanes.filter((candidate) => candidate.failure === undefined).sort((a, b) => a.busy - b.busy)[0];
      if (!lane) return Promise.reject(lanes[0]!.failure!);
      const id = nextId++;
      lane.busy += 1;
      return new Promise<Result>((resolve, reject) => {
        pending.set(id, Object.assign({ resolve: resolve as (value: unknown) => void, reject }, { lane }));
        lane.worker.postMessage({ id, job });
      });
    },
    async close(): Promise<void> {
      closed = true;
      for (const job of pending.values()) job.reject(new Error('the worker pool is closed'));
      pending.clear();
      await Promise.all(lanes.map((lane) => lane.worker.terminate()));
    },
  };
}

/**
 * The worker's side: `setup` receives the pool's init once and returns the job handler.
 * Jobs wait until setup is done; a handler's failure is sent back as the job's error.
 */
export async function serveInWorker<Init, Job, Result>(setup: (init: Init) => Promise<(job: Job) => Promise<Result>>): Promise<void> {
  const { parentPort } = await import('node:worker_threads');
  if (!parentPort) throw new Error('serveInWorker runs in a worker thread only');
  const port = parentPort;
  let handler: Promise<(job: Job) => Promise<Result>> | undefined;
  port.on('message', (message: { init?: Init; id?: number; job?: Job }) => {
    if (message.id === undefined) {
      handler = setup(message.init as Init);
      handler.catch(() => undefined);
      return;
    }
    const id = message.id;
    void (async () => {
      try {
        if (!handler) throw new Error('a job came before the worker was set up');
        const result = await (await handler)(message.job as Job);
        port.postMessage({ id, result });
      } catch (error) {
        port.postMessage({ id, error: (error as Error).message ?? String(error) });
      }
    })();
  });
}
