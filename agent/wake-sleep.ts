/**
 * Sleeps that can be cut short: a queue's workers wait between rounds, and new work (or the cloud coming back)
 * wakes every one of them at once instead of after their timers.
 */
export function wakeableSleep(): { sleep(ms: number): Promise<void>; wakeAll(): void } {
  const sleepers = new Set<() => void>();
  return {
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          sleepers.delete(done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        sleepers.add(done);
      }),
    wakeAll: () => [...sleepers].forEach((done) => done()),
  };
}
