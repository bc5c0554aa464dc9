import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CompressJob, CompressOutcome, WorkerData } from './worker';

/** coldStart: the worker's first job, whose time includes loading its codecs (it says nothing of the compressor's rate). */
export type PoolOutcome = CompressOutcome & { coldStart?: true };

export interface CompressPool {
  run(job: Omit<CompressJob, 'id'>): Promise<PoolOutcome>;
  close(): Promise<void>;
}

/** How a worker thread is started: the TypeScript entry (development, tests) or the packaged bundle's code. */
export type WorkerSource = { code: string; workerData: WorkerData } | undefined;

const RESPAWN_DELAY_MS = 1000;

interface Slot {
  worker: Worker;
  job?: { id: number; resolve(outcome: PoolOutcome): void; reject(err: Error): void };
  error?: string;
  /** Has finished a job: its codecs are loaded. */
  warm?: boolean;
}

/**
 * A bounded pool of worker threads: encoding and verifying pixel data is CPU work that would otherwise stall
 * receiving and uploading on the main thread. A worker that dies fails its job (the instance is kept as received)
 * and is replaced.
 */
export function startCompressPool(size: number, source: WorkerSource = undefined): CompressPool {
  const slots: Slot[] = [];
  const waiting: Array<() => void> = [];
  let nextId = 1;
  let closing = false;

  const spawn = (): Slot => {
    const worker = source
      ? new Worker(source.code, { eval: true, workerData: source.workerData })
      : new Worker(`require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(path.join(__dirname, 'worker-entry.ts'))});`, { eval: true });
    const slot: Slot = { worker };
    // A worker that fails (codecs cannot load, out of memory) exits: its job fails with the cause, 'exit' replaces it.
    worker.on('error', (err) => {
      slot.error = err.message;
    });
    worker.on('message', (message: { id?: number; outcome?: CompressOutcome; error?: string }) => {
      if (message.id === undefined || slot.job?.id !== message.id) return;
      const job = slot.job;
      slot.job = undefined;
      const coldStart = !slot.warm;
      slot.warm = true;
      if (message.outcome) job.resolve(coldStart ? { ...message.outcome, coldStart } : message.outcome);
      else job.reject(new Error(message.error ?? 'compression worker failed'));
      waiting.shift()?.();
    });
    worker.on('exit', (code) => {
      const job = slot.job;
      slot.job = undefined;
      job?.reject(new Error(`compression worker exited (code ${code}${slot.error ? `: ${slot.error}` : ''})`));
      const index = slots.indexOf(slot);
      if (index >= 0) slots.splice(index, 1);
      // Replaced after a pause, so a worker that cannot start does not spin.
      if (!closing) {
        setTimeout(() => {
          if (closing) return;
          slots.push(spawn());
          waiting.shift()?.();
        }, RESPAWN_DELAY_MS).unref();
      }
    });
    return slot;
  };
  for (let i = 0; i < size; i++) slots.push(spawn());

  return {
    async run(job) {
      // Find and take a free worker in one synchronous step, so two jobs never take the same one.
      let slot = slots.find((s) => !s.job);
      while (!slot) {
        if (closing) throw new Error('compression pool closed');
        await new Promise<void>((resolve) => waiting.push(resolve));
        slot = slots.find((s) => !s.job);
      }
      const id = nextId++;
      const taken = slot;
      const done = new Promise<PoolOutcome>((resolve, reject) => {
        taken.job = { id, resolve, reject };
      });
      // Messages wait in the worker's port until it has loaded its codecs.
      taken.worker.postMessage({ ...job, id });
      return done;
    },
    async close() {
      closing = true;
      // Jobs still waiting for a worker fail at once (their instances stay pending), so nothing waits forever.
      for (const wakeUp of waiting.splice(0)) wakeUp();
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
