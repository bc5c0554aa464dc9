import { wakeableSleep } from '../wake-sleep';
import { onStageWrote } from '../stage-signal';
import fs from 'node:fs';
import os from 'node:os';
import { storedFilePath, StoredPathError } from '../spool/spool-path';
import type { Pool } from 'pg';
import type { UploadConfig } from '../config/upstream-config';
import type { Logger } from '../logging';
import { CloudCapacity } from './cloud-capacity';
import { CloudOutageWatch } from './cloud-outage';
import { claimUploads, markDelivered, markFailed, releaseForOutage, renewLease, type ClaimedUpload } from './queue';
import type { BatchOutcome, OutgoingInstance, Transport } from './transport';
import { newTransactionUid } from './commitment-dataset';
import { recordCommitmentRequest, requeueUnreportedCommitments, withdrawCommitment } from './commitments';
import type { BusyRate } from '../busy-rate';

export interface UploaderDeps {
  pool: Pool;
  upload: UploadConfig;
  /** Instances per claim (at most upload.batchMaxInstances). */
  claimLimit: number;
  spoolDir: string;
  /** Claims are limited to instances kept in this spool. */
  spoolId: string;
  log: Logger;
  /** The cloud's name (its address): agents on one database that send to the same cloud share its outages. */
  upstream: string;
  /** Compression on: instances wait for their compression decision; compressed files are read from this folder. */
  compressedDir?: string;
  /** One transport per worker (numbered from 1; 0 for the probe): a worker keeps its association or connection across batches. */
  createTransport(worker: number): Transport;
  /** How long fewer parallel connections are kept before one more is tried (default 60 s; tests shorten it). */
  capacityProbeUpMs?: number;
  /** Measures the link from every send: the compressor weighs it against its own rate. */
  linkRate?: BusyRate;
}

export interface Uploader {
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  /** Bytes delivered and when, for the effective upload rate. */
  recentDeliveries(): Array<{ at: number; bytes: number }>;
  /** Whether the cloud answers, as the last batches saw it. */
  upstreamHealth(): UpstreamHealth;
  stop(): Promise<void>;
}

export interface UpstreamHealth {
  /** Null until a batch was tried; false while the cloud is unreachable (uploads wait for a probe to reach it). */
  reachable: boolean | null;
  /** Since when the cloud has been unreachable. */
  unreachableSince?: Date;
  /** When it is checked next, while unreachable. */
  nextCheckAt?: Date;
  lastError?: string;
  /** Parallel connections in use, lower than upload.workers while the cloud has no room for more. */
  parallel?: { current: number; max: number; lastRefusal?: string };
}
const IDLE_POLL_MS = 500;
/** A delivery this recent shows a connection to the cloud that works. */
const WORKING_CONNECTION_MS = 5000;
/** While the cloud is unreachable, how often a worker looks whether a probe (its own agent's or another's) found it back. */
const OUTAGE_POLL_MS = 1000;
const RECENT_WINDOW_MS = 10 * 60 * 1000;
/** After this long without the cloud refusing a connection for lack of room, one more worker tries again. */
const CAPACITY_PROBE_UP_MS = 60 * 1000;
/** A cloud's Retry-After is honoured up to this long; longer, the instances wait in the queue while others go. */
const MAX_RETRY_AFTER_MS = 60 * 1000;

/**
 * upload.workers loops, each claiming a batch from the queue, sending it through its transport and recording
 * what the cloud confirmed. Claims carry a lease that is renewed while a batch is on its way, so a batch of a
 * crashed agent is picked up again by any agent once the lease expires.
 */
export function startUploader(deps: UploaderDeps): Uploader {
  const owner = `${os.hostname()}:${process.pid}`;
  let stopping = false;
  let paused = false;
  const { sleep, wakeAll } = wakeableSleep();
  /** Workers that found nothing to claim: they also wake when the stage before the upload wrote new work. */
  const idle = wakeableSleep();
  const wakeEveryone = () => {
    wakeAll();
    idle.wakeAll();
  };
  const stopWaking = onStageWrote(deps.compressedDir !== undefined ? 'compressions decided' : 'instances recorded', idle.wakeAll);
  const deliveries: Array<{ at: number; bytes: number }> = [];
  const health: UpstreamHealth = { reachable: null };
  const capacity = new CloudCapacity(deps.upload.workers, deps.capacityProbeUpMs ?? CAPACITY_PROBE_UP_MS);
  /** Batches delivered by any worker: a worker whose connection found no room sees whether others got through meanwhile. */
  let deliveredBatches = 0;
  /** Workers sending a batch now. */
  let sending = 0;
  /** The last claim got as many instances as it asked for: more are waiting, worth another connection. */
  let backlog = false;
  /** When a batch was last delivered: another connection is opened only beside one that works. */
  let lastDeliveredAt = 0;
  // One transport for probes, so a probe never disturbs a worker's association.
  const probeTransport = deps.createTransport(0);
  const outage = new CloudOutageWatch({
    pool: deps.pool,
    upstream: deps.upstream,
    owner,
    probeSeconds: deps.upload.outageProbeSeconds,
    probe: () => probeTransport.probe(),
    log: deps.log,
    onBack: () => {
      Object.assign(health, { reachable: true, lastError: undefined });
      // Workers that met no room as the cloud went away all try again.
      capacity.reset();
      wakeEveryone();
    },
  });

  /** The cloud had no room for this worker's connection while others worked: fewer parallel uploads. */
  const parkWorker = (me: string, reason: string) => {
    capacity.park(reason);
    deps.log.info('the cloud has no room for another connection: fewer parallel uploads', { worker: me, parallel: capacity.parallel, reason });
  };

  const work = async (worker: number) => {
    const transport = deps.createTransport(worker);
    const me = `${owner}/${worker}`;
    let parked = false;
    // A worker beyond the first claims one instance until its connection delivered: if the cloud has no room for
    // it, only that instance waited for the handshake that did not come.
    let proven = worker === 1;
    try {
      while (!stopping) {
        if (parked && !capacity.mayResume()) {
          await sleep(IDLE_POLL_MS);
          continue;
        }
        parked = false;
        if (paused) {
          await sleep(IDLE_POLL_MS);
          continue;
        }
        let batch: ClaimedUpload[];
        try {
          // While the cloud is unreachable nothing is claimed: one probe at a time checks for its return.
          if (await outage.refresh()) {
            await outage.probeIfDue();
            if (outage.current()) await sleep(OUTAGE_POLL_MS);
            continue;
          }
          // A worker beyond the first that has not delivered yet connects before it claims, and only while instances
          // wait and another connection delivers: a cloud without room for it leaves it waiting for the handshake
          // holding nothing, and it never takes the one place such a cloud has from the worker holding a batch.
          if (!proven && worker > 1 && transport.connect) {
            if (!backlog || Date.now() - lastDeliveredAt > WORKING_CONNECTION_MS) {
              await idle.sleep(IDLE_POLL_MS);
              continue;
            }
            const deliveredBefore = deliveredBatches;
            const room = await transport.connect();
            if (room.noRoom && room.unreachable && (deliveredBatches > deliveredBefore || sending > 0)) {
              parked = true;
              parkWorker(me, room.unreachable);
              continue;
            }
            // Connected, or the cloud is away for everyone: the claim's send finds out and reports it as usual.
          }
          const limit = proven ? deps.claimLimit : 1;
          batch = await claimUploads(deps.pool, {
            owner: me,
            limit,
            leaseSeconds: deps.upload.leaseSeconds,
            priorities: deps.upload.priorities,
            spoolId: deps.spoolId,
            awaitCompression: deps.compressedDir !== undefined,
          });
          if (proven) {
            // Workers waiting for a backlog before they connect start now.
            if (!backlog && batch.length === limit) idle.wakeAll();
            backlog = batch.length === limit;
          }
        } catch (err) {
          deps.log.warn('cannot claim uploads from the database', { error: (err as Error).message });
          await sleep(5000);
          continue;
        }
        if (batch.length === 0) {
          await idle.sleep(IDLE_POLL_MS);
          continue;
        }
        const sent = await sendBatch(transport, me, batch);
        if (sent.noRoom) {
          parked = true;
          proven = false;
          await transport.close().catch(() => undefined);
          // The cloud asked to be left alone this long: the worker waits even if it may resume at once (the only one).
          if (sent.retryAfterMs) await sleep(Math.min(sent.retryAfterMs, MAX_RETRY_AFTER_MS));
        } else if (sent.delivered) proven = true;
      }
    } finally {
      await transport.close().catch(() => undefined);
    }
  };

  /** noRoom: the cloud had no room for this worker's connection while it is evidently there (see below): it parks. */
  const sendBatch = async (transport: Transport, me: string, batch: ClaimedUpload[]): Promise<{ delivered?: boolean; noRoom?: boolean; retryAfterMs?: number }> => {
    const deliveredBefore = deliveredBatches;
    let mine = 0;
    sending++;
    const leaseTimer = setInterval(
      () => {
        renewLease(
          deps.pool,
          me,
          batch.map((b) => b.sopInstanceUid),
          deps.upload.leaseSeconds,
        ).catch((err: Error) => deps.log.warn('cannot renew upload lease', { error: err.message }));
      },
      (deps.upload.leaseSeconds * 1000) / 3,
    );
    try {
      // A row naming a file the gateway would not name (an edited database) is refused, never opened.
      const unusable = (item: ClaimedUpload): string | undefined => {
        try {
          return fs.existsSync(spoolFile(item)) ? undefined : 'spool file missing: the sender must resend this instance';
        } catch (err) {
          if (err instanceof StoredPathError) return err.message;
          throw err;
        }
      };
      const failed = batch.flatMap((item) => {
        const error = unusable(item);
        return error ? [{ sopInstanceUid: item.sopInstanceUid, error, permanent: true }] : [];
      });
      const present: OutgoingInstance[] = batch.filter((item) => !failed.some((f) => f.sopInstanceUid === item.sopInstanceUid)).map(outgoing);
      /** Instances that wait for the cloud's return: not their failure, no backoff of their own. */
      const waiting: string[] = [];
      let unreachable: string | undefined;
      let noRoom: string | undefined;
      let retryAfterMs: number | undefined;
      for (const part of splitByBytes(present, deps.upload.batchMaxBytes)) {
        if (unreachable || noRoom) {
          waiting.push(...part.map((item) => item.sopInstanceUid));
          continue;
        }
        const started = Date.now();
        deps.linkRate?.begin();
        // send() never rejects.
        const outcome = await transport.send(part);
        const bytes = outcome.delivered.reduce((sum, item) => sum + item.fileBytes, 0);
        // A send that did not reach the cloud says nothing about the link's rate.
        deps.linkRate?.end(outcome.unreachable ? undefined : bytes);
        const marked =
          outcome.commitmentAvailable && outcome.delivered.length > 0 ? await requestCommitment(transport, me, outcome.delivered, failed) : await markDelivered(deps.pool, me, outcome.delivered);
        record(bytes);
        if (outcome.delivered.length > 0) {
          deliveredBatches++;
          lastDeliveredAt = Date.now();
          mine++;
        }
        // The cloud is there (others deliver or are sending, or a batch was delivered moments ago), it just has no room
        // for this connection now: not an outage. (A cloud's rate limit may still count a request it has just answered.)
        const cloudWorks = deliveredBatches - deliveredBefore > mine || sending > 1 || Date.now() - lastDeliveredAt <= WORKING_CONNECTION_MS;
        if (outcome.noRoom && outcome.unreachable && cloudWorks) {
          noRoom = outcome.unreachable;
          retryAfterMs = outcome.retryAfterMs;
        } else {
          unreachable = outcome.unreachable;
          noteReachability(outcome);
        }
        for (const f of outcome.failed) {
          if ((unreachable || noRoom) && !f.permanent) waiting.push(f.instance.sopInstanceUid);
          else failed.push({ sopInstanceUid: f.instance.sopInstanceUid, error: f.error, permanent: f.permanent });
        }
        deps.log.info('upload batch', {
          worker: me,
          instances: part.length,
          delivered: marked.length,
          failed: outcome.failed.length,
          bytes,
          durationMs: Date.now() - started,
          ...(outcome.failed.length ? { firstError: outcome.failed[0].error } : {}),
          ...(unreachable ? { cloudUnreachable: true } : {}),
          ...(noRoom ? { cloudHasNoRoom: true } : {}),
        });
      }
      if (noRoom) {
        await releaseForOutage(deps.pool, me, waiting, noRoom);
        parkWorker(me, noRoom);
      }
      if (unreachable) {
        await releaseForOutage(deps.pool, me, waiting, unreachable);
        await outage.report(unreachable);
      }
      await markFailed(deps.pool, me, failed, { baseSeconds: deps.upload.retryBaseSeconds, maxSeconds: deps.upload.retryMaxSeconds });
      for (const f of failed.filter((x) => x.permanent)) deps.log.error('upload failed permanently; shown as failed until `gateway retry`', { sopInstanceUid: f.sopInstanceUid, error: f.error });
      return noRoom ? { noRoom: true, retryAfterMs } : { delivered: mine > 0 };
    } catch (err) {
      // The database went away mid-batch: the leases expire and the batch is claimed again.
      deps.log.warn('upload batch interrupted', { worker: me, error: (err as Error).message });
      await new Promise((resolve) => setTimeout(resolve, 2000));
      return {};
    } finally {
      sending--;
      clearInterval(leaseTimer);
    }
  };

  /**
   * Storage Commitment: the stored instances wait for the cloud's report (recorded before the request goes out).
   * A cloud that refuses the request does not commit: C-STORE success confirms. A request that failed on the way
   * adds the instances to `failed` (sent again after the backoff). Returns the instances the cloud stored.
   */
  const requestCommitment = async (
    transport: Transport,
    me: string,
    delivered: OutgoingInstance[],
    failed: Array<{ sopInstanceUid: string; error: string; permanent: boolean }>,
  ): Promise<string[]> => {
    const transactionUid = newTransactionUid();
    const sent = await recordCommitmentRequest(deps.pool, me, transactionUid, delivered);
    const result = await transport.requestCommitment!(
      transactionUid,
      delivered.filter((item) => sent.includes(item.sopInstanceUid)),
    );
    if (result.requested) return sent;
    const withdrawn = await withdrawCommitment(deps.pool, me, transactionUid, result.refused ? 'confirmed' : 'retry', deps.upload.leaseSeconds);
    if (result.refused) {
      deps.log.warn('the cloud does not commit: C-STORE success confirms the instances', { transactionUid, error: result.error });
      return sent;
    }
    failed.push(...withdrawn.map((sopInstanceUid) => ({ sopInstanceUid, error: result.error, permanent: false })));
    return sent.filter((uid) => !withdrawn.includes(uid));
  };

  // A delivery or a refusal of one instance means the cloud answered; an outage is recorded by the caller.
  const noteReachability = (outcome: BatchOutcome) => {
    if (outcome.unreachable) {
      health.lastError = outcome.unreachable;
      return;
    }
    if (outcome.delivered.length > 0 || outcome.failed.length > 0) health.reachable = true;
    health.lastError = outcome.failed[0]?.error;
  };

  const received = (item: ClaimedUpload) => storedFilePath(deps.spoolDir, 'spool', item.spoolPath);
  const spoolFile = (item: ClaimedUpload) => (item.compressedPath && deps.compressedDir ? storedFilePath(deps.compressedDir, 'compressed', item.compressedPath) : received(item));

  /** The file to send; a compressed one carries the instance as received too (see OutgoingInstance.asReceived). */
  const outgoing = (item: ClaimedUpload): OutgoingInstance => {
    const asReceived = item.compressedPath && item.received ? { ...item, ...item.received, compressedPath: undefined, received: undefined, filePath: received(item) } : undefined;
    return { ...item, filePath: spoolFile(item), asReceived };
  };

  const record = (bytes: number) => {
    const now = Date.now();
    deliveries.push({ at: now, bytes });
    while (deliveries.length && deliveries[0].at < now - RECENT_WINDOW_MS) deliveries.shift();
  };

  const workers = Array.from({ length: deps.upload.workers }, (_, i) => work(i + 1));
  // Commitment reports that never came (lost, or the cloud cannot reach our listener): send those instances again.
  const commitTimer = setInterval(
    () => {
      requeueUnreportedCommitments(deps.pool, deps.upload.commitTimeoutSeconds).then(
        (count) => count > 0 && deps.log.warn('no storage commitment report in time: instances queued to be sent again', { instances: count, commitTimeoutSeconds: deps.upload.commitTimeoutSeconds }),
        (err: Error) => deps.log.warn('cannot check storage commitments', { error: err.message }),
      );
    },
    Math.min(60, deps.upload.commitTimeoutSeconds / 2) * 1000,
  );
  commitTimer.unref();
  return {
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      wakeEveryone();
    },
    get paused() {
      return paused;
    },
    recentDeliveries: () => [...deliveries],
    upstreamHealth: () => {
      const down = outage.current();
      const parallel = capacity.parallel < capacity.max ? { parallel: { current: capacity.parallel, max: capacity.max, lastRefusal: capacity.lastRefusal } } : {};
      return down ? { reachable: false, unreachableSince: down.since, nextCheckAt: down.nextProbeAt, lastError: down.lastError, ...parallel } : { ...health, ...parallel };
    },
    async stop() {
      stopping = true;
      stopWaking();
      clearInterval(commitTimer);
      wakeEveryone();
      await Promise.all(workers);
      await probeTransport.close().catch(() => undefined);
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
