// The CPU time a piece of work costs this process (user + system, every thread: node:crypto's
// pool and workers included), for the tests that bound a cost: unlike wall time it does not grow
// with the other work on the machine (issue 16's loop: load 20-32 on 2 cores made the wall time
// 7-15x longer), so a bound on it fails the slow code and not the busy machine.
export async function cpuMs(work: () => Promise<unknown> | unknown): Promise<number> {
  const started = process.cpuUsage();
  await work();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000;
}
