import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Pool } from 'pg';
import type { UploadConfig } from '../config/upstream-config';
import type { Logger } from '../logging';
import { claimUploads, markDelivered, markFailed, renewLease, type ClaimedUpload } from './queue';
import type { OutgoingInstance, Transport } from './transport';

export interface UploaderDeps {
  pool: Pool;
  upload: UploadConfig;
  spoolDir: string;
  /** Claims are limited to instances kept in this spool. */
  spoolId: string;
  log: Logger;
  /** One transport per worker: a worker keeps its association or connection across batches. */
  createTransport(): Transport;
}

export interface Uploader {
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  /** Bytes delivered and when, for the effective upload rate. */
  recentDeliveries(): Array<{ at: number; bytes: number }>;
  stop(): Promise<void>;
}

const IDLE_POLL_MS = 500;
const RECENT_WINDOW_MS = 10 * 60 * 1000;

/**
 * upload.workers loops, each claiming a batch from the queue, sending it through its transport and recording
 * what the cloud confirmed. Claims carry a lease that is renewed while a batch is on its way, so a batch of a
 * crashed agent is picked up again by any agent once the lease expires.
 */
export function startUploader(deps: UploaderDeps): Uploader {
  const owner = `${os.hostname()}:${process.pid}`;
  let stopping = false;
  let paused = false;
  const sleepers = new Set<() => void>();
  const deliveries: Array<{ at: number; bytes: number }> = [];

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      sleepers.add(done);
    });
  const wakeAll = () => [...sleepers].forEach((done) => done());

  const work = async (worker: number) => {
    const transport = deps.createTransport();
    const me = `${owner}/${worker}`;
    try {
      while (!stopping) {
        if (paused) {
          await sleep(IDLE_POLL_MS);
          continue;
        }
        let batch: ClaimedUpload[];
        try {
          batch = await claimUploads(deps.pool, { owner: me, limit: deps.upload.batchMaxInstances, leaseSeconds: deps.upload.leaseSeconds, priorities: deps.upload.priorities, spoolId: deps.spoolId });
        } catch (err) {
          deps.log.warn('cannot claim uploads from the database', { error: (err as Error).message });
          await sleep(5000);
          continue;
        }
        if (batch.length === 0) {
          await sleep(IDLE_POLL_MS);
          continue;
        }
        await sendBatch(transport, me, batch);
      }
    } finally {
      await transport.close().catch(() => undefined);
    }
  };

  const sendBatch = async (transport: Transport, me: string, batch: ClaimedUpload[]) => {
    const leaseTimer = setInterval(() => {
      renewLease(deps.pool, me, batch.map((b) => b.sopInstanceUid), deps.upload.leaseSeconds).catch((err: Error) => deps.log.warn('cannot renew upload lease', { error: err.message }));
    }, (deps.upload.leaseSeconds * 1000) / 3);
    try {
      const missing = batch.filter((item) => !fs.existsSync(spoolFile(item)));
      const present: OutgoingInstance[] = batch.filter((item) => !missing.includes(item)).map((item) => ({ ...item, filePath: spoolFile(item) }));
      const failed = missing.map((item) => ({ sopInstanceUid: item.sopInstanceUid, error: 'spool file missing: the sender must resend this instance', permanent: true }));
      for (const part of splitByBytes(present, deps.upload.batchMaxBytes)) {
        const started = Date.now();
        const outcome = await transport.send(part);
        const marked = await markDelivered(deps.pool, me, outcome.delivered);
        const bytes = outcome.delivered.reduce((sum, item) => sum + item.fileBytes, 0);
        record(bytes);
        failed.push(...outcome.failed.map((f) => ({ sopInstanceUid: f.instance.sopInstanceUid, error: f.error, permanent: f.permanent })));
        deps.log.info('upload batch', {
          worker: me,
          instances: part.length,
          delivered: marked.length,
          failed: outcome.failed.length,
          bytes,
          durationMs: Date.now() - started,
          ...(outcome.failed.length ? { firstError: outcome.failed[0].error } : {}),
        });
      }
      await markFailed(deps.pool, me, failed, { baseSeconds: deps.upload.retryBaseSeconds, maxSeconds: deps.upload.retryMaxSeconds });
      for (const f of failed.filter((x) => x.permanent)) deps.log.error('upload failed permanently; shown as failed until `gateway retry`', { sopInstanceUid: f.sopInstanceUid, error: f.error });
    } catch (err) {
      // The database went away mid-batch: the leases expire and the batch is claimed again.
      deps.log.warn('upload batch interrupted', { worker: me, error: (err as Error).message });
      await new Promise((resolve) => setTimeout(resolve, 2000));
    } finally {
      clearInterval(leaseTimer);
    }
  };

  const spoolFile = (item: ClaimedUpload) => path.join(deps.spoolDir, ...item.spoolPath.split('/'));

  const record = (bytes: number) => {
    const now = Date.now();
    deliveries.push({ at: now, bytes });
    while (deliveries.length && deliveries[0].at < now - RECENT_WINDOW_MS) deliveries.shift();
  };

  const workers = Array.from({ length: deps.upload.workers }, (_, i) => work(i + 1));
  return {
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      wakeAll();
    },
    get paused() {
      return paused;
    },
    recentDeliveries: () => [...deliveries],
    async stop() {
      stopping = true;
      wakeAll();
      await Promise.all(workers);
    },
  };
}

/** Consecutive groups whose total file size stays within maxBytes (an instance larger than that goes alone). */
export function splitByBytes<T extends { fileBytes: number }>(items: T[], maxBytes: number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    if (current.length > 0 && size + item.fileBytes > maxBytes) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += item.fileBytes;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
