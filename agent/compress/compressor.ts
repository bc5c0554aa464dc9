import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import os from 'node:os';
import type { Pool } from 'pg';
import { loadConfig } from '../config/config';
import { errorMessage } from '../errors';
import type { Logger } from '../logging';
import { fsyncDirectory } from '../spool/fsync-directory';
import { receivedWithin } from '../spool/receive-activity';
import { storedFilePath, uidFileName } from '../spool/spool-path';
import { startCompressPool, type PoolOutcome } from './compress-pool';
import { packagedWorkerSource } from './packaged-worker';
import { COMPRESSED_INCOMING_DIR, compressedFolder, compressedRelativePath } from './compressed-file';
import { isCompressedTransferSyntax, matchRule, matchRuleBeforePixels, type CompressionConfig, type InstanceFacts } from './rules';
import { decideLossless, type LosslessDecision } from './when-it-pays';
import type { CompressOutcome } from './worker';
import { BusyRate } from '../busy-rate';
import { onStageWrote, stageWrote } from '../stage-signal';

export interface CompressorDeps {
  pool: Pool;
  dataDir: string;
  spoolDir: string;
  /** Only instances kept in this spool are compressed here: their files are readable here. */
  spoolId: string;
  compression: CompressionConfig;
  /** Rules are reloaded from this file when it changes. */
  configFile?: string;
  /** The cloud link's measured rate (the uploader measures it); absent when no cloud is configured. */
  linkRate?: BusyRate;
  log: Logger;
}

export interface Compressor {
  /** Whether lossless rules compress now, and why. */
  losslessDecision(): LosslessDecision;
  stop(): Promise<void>;
}

type KeptOutcome = Extract<CompressOutcome, { outcome: 'kept' }>;

interface PendingInstance {
  sopInstanceUid: string;
  datasetSha256: Buffer;
  previousCompressedPath?: string;
  /** The sender replaced this instance at least once: older versions' compressed files may lie about. */
  corrected: boolean;
  spoolPath: string;
  facts: InstanceFacts;
}

/** A pending compression with what the rules match on (bigint columns arrive as strings). */
interface PendingRow {
  sop_instance_uid: string;
  dataset_sha256: Buffer;
  compressed_path: string | null;
  corrections: number;
  spool_path: string;
  sop_class_uid: string;
  transfer_syntax_uid: string;
  calling_ae: string;
  file_bytes: string;
  modality: string | null;
}

const POLL_MS = 200;
/** A worker holds the whole file and its compressed copy in memory: larger instances go as received. */
export const MAX_COMPRESSED_INSTANCE_BYTES = 768 * 1024 * 1024;
const RELOAD_CHECK_MS = 2000;
/** Receiving counts as busy until no instance came for this long: then compression catches up. */
const RECEIVE_QUIET_MS = 1000;
/** An instance whose compression waited this long is compressed even while receiving, by one worker: uploads wait no longer. */
const MAX_DEFER_SECONDS = 10;
/** Pending instances looked at per round for decisions that need no worker. */
const WITHOUT_WORKER_BATCH = 100;
/** While compression yields to receiving and the link is not measured yet, this much goes as received to measure it. */
const PROBE_BYTES = 2 * 1024 * 1024;
/** Recent compressions weigh in the ratio: each one's weight shrinks by this factor per later one. */
const RATIO_DECAY = 0.9;

/**
 * While lossless compression is skipped the compressor is not measured; after this long one instance is compressed
 * to measure it again, so a figure taken while the PC was busy does not keep compression off for good.
 */
const REMEASURE_MS = 60_000;

/**
 * Workers that may run while a modality sends: receiving needs the main thread and one more core (disk, database),
 * so only the cores beyond two compress then (none on a 2-core PC).
 */
export function workersWhileReceiving(workers: number, cores = os.availableParallelism()): number {
  return Math.max(0, Math.min(workers, cores - 2));
}

/**
 * Decides, per instance as soon as it is spooled, whether it is sent as received or compressed, so a study is
 * compressed while it is still arriving. Already-compressed data is kept without reading it; the rest goes to the
 * worker pool. A compressed file is written to a temp file and fsynced by the worker, renamed into place here, and
 * only then recorded; after a crash, undecided instances are simply still pending and are done again. The spooled
 * original is never touched.
 */
export async function startCompressor(deps: CompressorDeps): Promise<Compressor> {
  const folder = compressedFolder(deps.dataDir);
  const incoming = path.join(folder, COMPRESSED_INCOMING_DIR);
  await fs.promises.rm(incoming, { recursive: true, force: true });
  await fs.promises.mkdir(incoming, { recursive: true });

  let compression = deps.compression;
  const pool = startCompressPool(compression.workers, packagedWorkerSource());
  const inFlight = new Map<string, Promise<void>>();
  let stopping = false;
  let wake: (() => void) | undefined;
  let configStamp = configFileStamp(deps.configFile);
  let lastReloadCheck = Date.now();

  const reloadRules = () => {
    if (!deps.configFile || Date.now() - lastReloadCheck < RELOAD_CHECK_MS) return;
    lastReloadCheck = Date.now();
    const stamp = configFileStamp(deps.configFile);
    if (stamp === configStamp) return;
    configStamp = stamp;
    try {
      const next = loadConfig(deps.configFile).compression;
      compression = { ...compression, rules: next.rules, lossyOptIn: next.lossyOptIn, lossless: next.lossless };
      deps.log.info('compression rules reloaded', { rules: next.rules.map((r) => r.name), lossyOptIn: next.lossyOptIn, lossless: next.lossless });
    } catch (err) {
      deps.log.warn('compression rules not reloaded: the configuration is invalid; the previous rules stay in force', { error: errorMessage(err) });
    }
  };

  // The compressor's own rate (original bytes per second of compressing) and recent lossless ratio, for the link's weighing.
  // Known after 1 MiB or 200 ms of warm compressing: a worker's first job, whose time includes loading its codecs, is
  // not counted (counted, it made the first figure low enough that compression was skipped on a 50 Mbps link in 1 of
  // 6 bench runs, and a skipped compressor is not measured again).
  const compressRate = new BusyRate(30_000, { bytes: 1024 * 1024, ms: 200 });
  let compressorMeasuredAt = 0;
  let remeasuring = false;
  const ratio = { original: 0, compressed: 0 };
  const losslessDecision = (): LosslessDecision => {
    if (compression.lossless === 'always') return { compress: true, linkMeasured: true, reason: 'on: compression.lossless is "always"' };
    if (!deps.linkRate) return { compress: true, linkMeasured: true, reason: 'on: no cloud configured' };
    return decideLossless({
      linkBytesPerSecond: deps.linkRate.bytesPerSecond(),
      compressBytesPerSecond: compressRate.bytesPerSecond(),
      ratio: ratio.original > 0 ? ratio.compressed / ratio.original : undefined,
    });
  };

  /**
   * The decision when no worker is needed: received compressed, too large, or, with losslessSkipped, a rule known
   * without the pixel attributes that keeps, or is lossless (then skipped for that reason). Undefined: a worker decides.
   */
  const keptWithoutWorker = (item: PendingInstance, losslessSkipped?: string): KeptOutcome | undefined => {
    if (item.facts.receivedCompressed) return { outcome: 'kept', rule: matchRule(compression.rules, item.facts)?.name, reason: 'received compressed: kept as received' };
    if (item.facts.sizeBytes > MAX_COMPRESSED_INSTANCE_BYTES) return { outcome: 'kept', reason: `larger than ${MAX_COMPRESSED_INSTANCE_BYTES / 1024 / 1024} MiB: kept as received` };
    if (!losslessSkipped) return undefined;
    const rule = matchRuleBeforePixels(compression.rules, item.facts);
    if (rule === undefined) return { outcome: 'kept', reason: 'no rule matched' };
    if (rule === 'needs pixels' || rule.action === 'lossy') return undefined;
    return { outcome: 'kept', rule: rule.name, reason: rule.action === 'keep' ? 'rule keeps as received' : losslessSkipped };
  };

  /** lossless.skipped: why a lossless rule keeps this instance as received now; lossless.on: why it compresses (recorded). */
  const decide = async (item: PendingInstance, lossless: { skipped?: string; on?: string }) => {
    let outcome: PoolOutcome | undefined = keptWithoutWorker(item);
    const tempFile = path.join(incoming, `${crypto.randomUUID()}.tmp`);
    if (!outcome) {
      compressRate.begin();
      try {
        outcome = await pool.run({ spoolFile: storedFilePath(deps.spoolDir, 'spool', item.spoolPath), tempFile, facts: item.facts, rules: compression.rules, losslessSkipped: lossless.skipped });
      } catch (err) {
        if (stopping) throw new Error('agent stopping');
        outcome = { outcome: 'kept', reason: `compression failed (${errorMessage(err)}): sent as received`, warning: true };
      } finally {
        const measured = outcome?.outcome === 'compressed' && !outcome.coldStart;
        compressRate.end(measured ? item.facts.sizeBytes : undefined);
        if (measured) compressorMeasuredAt = performance.now();
      }
    }
    if (outcome.outcome === 'kept') {
      await recordKept([{ item, outcome }]);
      if (outcome.warning) deps.log.warn('instance sent as received: not compressed', { sopInstanceUid: item.sopInstanceUid, rule: outcome.rule, reason: outcome.reason });
      return;
    }
    if (!outcome.lossy) {
      ratio.original = ratio.original * RATIO_DECAY + item.facts.sizeBytes;
      ratio.compressed = ratio.compressed * RATIO_DECAY + outcome.fileBytes;
    }
    const relative = compressedRelativePath(item.sopInstanceUid, item.datasetSha256);
    const final = path.join(folder, ...relative.split('/'));
    await fs.promises.mkdir(path.dirname(final), { recursive: true });
    await fs.promises.rename(tempFile, final);
    await fsyncDirectory(path.dirname(final));
    const { rowCount } = await deps.pool.query(
      `UPDATE compressions SET state = 'compressed', rule = $3, reason = $9, compressed_path = $4, transfer_syntax_uid = $5,
              file_bytes = $6, compressed_sha256 = $7, lossy = $8, decided_at = now()
        WHERE sop_instance_uid = $1 AND dataset_sha256 = $2 AND state = 'pending'`,
      [
        item.sopInstanceUid,
        item.datasetSha256,
        outcome.rule,
        relative,
        outcome.transferSyntaxUid,
        outcome.fileBytes,
        Buffer.from(outcome.datasetSha256),
        outcome.lossy,
        outcome.lossy ? null : (lossless.on ?? null),
      ],
    );
    if (rowCount === 1) stageWrote('compressions decided');
    if (rowCount === 0) {
      // A correction arrived meanwhile: this file is of an older version and must never be sent. (Unless another
      // agent sharing this spool decided the same version first: then the file is its, recorded, and stays.)
      const recorded = await deps.pool.query('SELECT 1 FROM compressions WHERE compressed_path = $1', [relative]);
      if (recorded.rowCount === 0) await fs.promises.rm(final, { force: true });
      return;
    }
    await removeOlderVersions(item, relative);
    deps.log.debug('instance compressed', {
      sopInstanceUid: item.sopInstanceUid,
      rule: outcome.rule,
      transferSyntaxUid: outcome.transferSyntaxUid,
      pixelRatio: outcome.pixelRatio,
      lossy: outcome.lossy,
    });
  };

  const recordKept = async (decided: Array<{ item: PendingInstance; outcome: KeptOutcome }>) => {
    if (decided.length === 0) return;
    const { rows } = await deps.pool.query<{ sop_instance_uid: string }>(
      `UPDATE compressions c SET state = 'kept', rule = d.rule, reason = d.reason, compressed_path = NULL, transfer_syntax_uid = NULL, file_bytes = NULL,
              compressed_sha256 = NULL, lossy = NULL, decided_at = now()
         FROM unnest($1::text[], $2::bytea[], $3::text[], $4::text[]) AS d (sop_instance_uid, dataset_sha256, rule, reason)
        WHERE c.sop_instance_uid = d.sop_instance_uid AND c.dataset_sha256 = d.dataset_sha256 AND c.state = 'pending'
       RETURNING c.sop_instance_uid`,
      [decided.map((d) => d.item.sopInstanceUid), decided.map((d) => d.item.datasetSha256), decided.map((d) => d.outcome.rule ?? null), decided.map((d) => d.outcome.reason)],
    );
    const recorded = new Set(rows.map((r) => r.sop_instance_uid));
    if (recorded.size > 0) stageWrote('compressions decided');
    for (const { item } of decided) if (recorded.has(item.sopInstanceUid)) await removeOlderVersions(item, undefined);
  };

  /**
   * What the link has ahead: bytes decided and queued, or claimed by an upload worker and not yet delivered (a worker
   * claims many at once), counted up to a few hundred instances.
   */
  const bytesAhead = async (): Promise<number> => {
    const { rows } = await deps.pool.query<{ bytes: string }>(
      `SELECT coalesce(sum(b), 0) AS bytes FROM (
         SELECT coalesce(c.file_bytes, i.file_bytes) AS b
           FROM uploads u JOIN compressions c USING (sop_instance_uid) JOIN instances i USING (sop_instance_uid)
          WHERE ((u.state = 'queued' AND u.next_attempt_at <= now()) OR u.state = 'sending') AND c.state <> 'pending' AND c.dataset_sha256 = u.dataset_sha256
          LIMIT 500) ready`,
    );
    return Number(rows[0].bytes);
  };

  /**
   * Decisions made here at once, without a worker: with lossless compression skipped, every instance a worker is not
   * needed for; or, to measure the link, instances as received for up to fillBytes. Resolves to whether a full batch
   * was looked at (there may be more).
   */
  const decideWithoutWorkers = async (losslessSkipped: string, fillBytes = Infinity, measureAgain?: string): Promise<boolean> => {
    const decided: Array<{ item: PendingInstance; outcome: KeptOutcome }> = [];
    let budget = fillBytes;
    const pending = await claimPending(WITHOUT_WORKER_BATCH);
    for (const item of pending) {
      const outcome = keptWithoutWorker(item, losslessSkipped);
      if (!outcome) continue;
      if (outcome.reason === losslessSkipped) {
        if (measureAgain) {
          // The first instance a lossless rule would compress is compressed after all (see REMEASURE_MS).
          remeasuring = true;
          void dispatch(item, { on: measureAgain }).finally(() => (remeasuring = false));
          measureAgain = undefined;
          continue;
        }
        if (budget <= 0) continue;
        budget -= item.facts.sizeBytes;
      }
      decided.push({ item, outcome });
    }
    await recordKept(decided);
    return decided.length > 0 && pending.length === WITHOUT_WORKER_BATCH;
  };

  /**
   * Once a version is decided, the compressed files of older ones go: the one recorded before, and for a corrected
   * instance any other version's file in its folder (one a crash left unrecorded before the correction arrived).
   */
  const removeOlderVersions = async (item: PendingInstance, current: string | undefined) => {
    const stale = new Set(item.previousCompressedPath && item.previousCompressedPath !== current ? [item.previousCompressedPath] : []);
    if (item.corrected) {
      const [bucket] = compressedRelativePath(item.sopInstanceUid, item.datasetSha256).split('/');
      const prefix = `${uidFileName(item.sopInstanceUid)}.`;
      const names = await fs.promises.readdir(path.join(folder, bucket)).catch(() => [] as string[]);
      for (const name of names) if (name.startsWith(prefix) && name.endsWith('.dcm') && `${bucket}/${name}` !== current) stale.add(`${bucket}/${name}`);
    }
    for (const relative of stale) await fs.promises.rm(storedFilePath(folder, 'compressed', relative), { force: true });
  };

  /** olderThanSeconds: only instances pending at least that long (the ones compression may no longer defer). */
  const claimPending = async (limit: number, olderThanSeconds = 0): Promise<PendingInstance[]> => {
    const { rows } = await deps.pool.query<PendingRow>(
      `SELECT c.sop_instance_uid, c.dataset_sha256, c.compressed_path, i.corrections, i.spool_path, i.sop_class_uid, i.transfer_syntax_uid, i.calling_ae, i.file_bytes, se.modality
         FROM compressions c JOIN instances i USING (sop_instance_uid) JOIN series se ON se.series_uid = i.series_uid
        WHERE c.state = 'pending' AND c.dataset_sha256 = i.dataset_sha256 AND i.missing_since IS NULL
          AND (i.spool_id IS NULL OR i.spool_id = $1) AND NOT (c.sop_instance_uid = ANY($2))
          AND c.queued_at <= now() - make_interval(secs => $4)
        ORDER BY c.queued_at, c.sop_instance_uid
        LIMIT $3`,
      [deps.spoolId, [...inFlight.keys()], limit, olderThanSeconds],
    );
    return rows.map((r) => ({
      sopInstanceUid: r.sop_instance_uid,
      datasetSha256: r.dataset_sha256,
      previousCompressedPath: r.compressed_path ?? undefined,
      corrected: r.corrections > 0,
      spoolPath: r.spool_path,
      facts: {
        modality: r.modality ?? undefined,
        sopClassUid: r.sop_class_uid,
        callingAeTitle: r.calling_ae,
        transferSyntaxUid: r.transfer_syntax_uid,
        receivedCompressed: isCompressedTransferSyntax(r.transfer_syntax_uid),
        sizeBytes: Number(r.file_bytes),
      },
    }));
  };

  /** Decides one claimed instance in the background; it stays in flight (not claimed again) until recorded. */
  const dispatch = (item: PendingInstance, lossless: { skipped?: string; on?: string }): Promise<void> => {
    const decision = decide(item, lossless)
      .catch((err: Error) => {
        if (!stopping) deps.log.warn('compression decision not recorded; it will be done again', { sopInstanceUid: item.sopInstanceUid, error: err.message });
      })
      .finally(() => {
        inFlight.delete(item.sopInstanceUid);
        wake?.();
      });
    inFlight.set(item.sopInstanceUid, decision);
    return decision;
  };

  let lastDecision: LosslessDecision | undefined;
  const loop = async () => {
    while (!stopping) {
      reloadRules();
      // Lossless compression that does not pay now is skipped at once, without a worker (see when-it-pays.ts).
      const weighed = deps.linkRate && compression.lossless === 'when-it-pays' ? deps.linkRate : undefined;
      const current = losslessDecision();
      if (current.compress !== lastDecision?.compress || current.linkMeasured !== lastDecision.linkMeasured) deps.log.info('lossless compression decision', { reason: current.reason });
      lastDecision = current;
      const lossless = !current.compress ? { skipped: `lossless compression ${current.reason}` } : weighed ? { on: `lossless compression ${current.reason}` } : {};
      // Keep every worker busy plus one job each waiting, no more: the rest stays pending in the database. While a
      // modality sends, fewer workers (none on 2 cores) so receiving keeps the CPU, except for instances that waited
      // MAX_DEFER_SECONDS: one worker does those, so uploads never wait on compression for long. But where the link
      // is measured and compressing pays (a slow link: a third of the bytes is what brings the study sooner), one
      // worker compresses while receiving rather than leave the link waiting.
      const receiving = receivedWithin(RECEIVE_QUIET_MS);
      const linkSlow = weighed !== undefined && current.compress && current.linkMeasured;
      const workers = receiving ? Math.max(workersWhileReceiving(compression.workers), linkSlow ? 1 : 0) : compression.workers;
      const overdueOnly = receiving && workers === 0;
      const room = overdueOnly ? 1 - inFlight.size : workers * 2 - inFlight.size;
      let claimed: PendingInstance[] = [];
      let more = false;
      try {
        if (lossless.skipped) {
          const since = performance.now() - compressorMeasuredAt;
          const measureAgain =
            !remeasuring && since >= REMEASURE_MS
              ? `lossless compression on for one instance, to measure the compressor again (${Math.round(since / 1000)} s since; otherwise ${current.reason})`
              : undefined;
          more = await decideWithoutWorkers(lossless.skipped, Infinity, measureAgain);
        } else if (overdueOnly && weighed) {
          // The link is not measured yet and compression yields to receiving: a probe's worth goes as received, so
          // the link neither waits nor stays unmeasured (on a fast one, what follows is then sent as received at once).
          const probe = Math.max(0, PROBE_BYTES - (await bytesAhead()));
          if (probe > 0) await decideWithoutWorkers(`sent as received to measure the link while compression yields to receiving (lossless compression ${current.reason})`, probe);
        }
        if (room > 0) claimed = await claimPending(room, overdueOnly ? MAX_DEFER_SECONDS : 0);
      } catch (err) {
        deps.log.warn('cannot read or record pending compressions in the database', { error: errorMessage(err) });
      }
      for (const item of claimed) void dispatch(item, lossless);
      if (more || (claimed.length === room && room > 0)) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  };

  deps.log.info('compression started', { workers: compression.workers, rules: compression.rules.map((r) => r.name), lossyOptIn: compression.lossyOptIn, lossless: compression.lossless });
  // New instances are looked at when their rows are in, not at the next poll.
  const unsubscribe = onStageWrote('instances recorded', () => wake?.());
  const running = loop();
  return {
    losslessDecision,
    async stop() {
      stopping = true;
      unsubscribe();
      wake?.();
      await running;
      // Jobs still running are abandoned: their instances stay pending and are done again at the next start.
      await pool.close();
      await Promise.all(inFlight.values());
    },
  };
}

function configFileStamp(file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    const stat = fs.statSync(file);
    return `${stat.mtimeMs}:${stat.size}`;
  } catch {
    return undefined;
  }
}
