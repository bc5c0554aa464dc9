import type { Pacer } from './transport';

/**
 * A token bucket shared by every worker of the agent: `getMbps()` (read at each take, so schedule windows and a
 * changed upload.maxMbps apply at once) gives the rate in megabits per second, 0 = unlimited. The burst is small
 * (50 ms of traffic, at least 16 KiB) so the cap holds over short periods too. Takers are served in order.
 */
export function createPacer(getMbps: () => number, now: () => number = () => performance.now()): Pacer {
  let tokens = 0;
  let last = now();
  let chain: Promise<void> = Promise.resolve();
  const step = async (bytes: number) => {
    const mbps = getMbps();
    const t = now();
    if (!(mbps > 0) || !Number.isFinite(mbps)) {
      tokens = 0;
      last = t;
      return;
    }
    const rate = (mbps * 1e6) / 8 / 1000; // bytes per millisecond
    const burst = Math.max(16 * 1024, rate * 50);
    tokens = Math.min(burst, tokens + (t - last) * rate);
    last = t;
    tokens -= bytes;
    if (tokens < 0) await new Promise((resolve) => setTimeout(resolve, Math.ceil(-tokens / rate)));
  };
  return {
    take(bytes: number): Promise<void> {
      const run = chain.then(() => step(bytes));
      chain = run.catch(() => {});
      return run;
    },
  };
}
