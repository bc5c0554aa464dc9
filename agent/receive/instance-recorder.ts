import fs from 'node:fs';
import type { Pool } from 'pg';
import { errorMessage } from '../errors';
import type { Logger } from '../logging';
import { storedFilePath } from '../spool/spool-path';
import { stageWrote } from '../stage-signal';
import { recordInstances, type InstanceRecord, type RecordResult } from '../studies/record-instance';

/** How long rows the database refused wait before they are written again. */
const RETRY_MS = 2000;
/**
 * How long the first row waits for others before a statement starts. One row per statement costs ~1 ms of
 * PostgreSQL's CPU and ~1 ms of the agent's; ten in one, a quarter of that each (2-core VM). The rows follow the
 * answer, so the wait delays no acknowledgement, and a release cuts it short (flush).
 */
const GATHER_MS = 50;
/** At most this many instances in one statement; this many waiting start one at once. */
const MAX_BATCH = 256;

interface Waiting {
  record: InstanceRecord;
  /** Acknowledgement order: a later copy of the same instance (a correction) must win over an earlier one. */
  seq: number;
  /** Settles the promise record() gave: after the first attempt, whatever its outcome. */
  settle(): void;
  /** Set once an attempt has failed (its error logged). */
  failed?: boolean;
}

/**
 * Writes the rows of acknowledged instances, whose spool files are already durable under their names (the file is
 * the record, see README "What the gateway promises"). Rows are gathered into one statement (GATHER_MS, or while the
 * previous statement runs): one transaction and one WAL flush for many instances and for every association sending
 * (group commit). Rows the database refuses are written again every RETRY_MS while the agent runs; if it stops
 * first, startup recovery indexes the files that have no row.
 */
export class InstanceRecorder {
  private queue: Waiting[] = [];
  private retrying: Waiting[] = [];
  private running: Promise<void> | undefined;
  private gatherTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Set by flush() until the queue is empty: statements start without gathering. */
  private urgent = false;
  private closed = false;
  private acknowledged = 0;

  constructor(private readonly deps: { pool: Pool; spoolDir: string; log: Logger }) {}

  /** Queues the rows of one instance; resolves once they are committed or handed to the retries. Never rejects. */
  record(record: InstanceRecord): Promise<void> {
    return new Promise((settle) => {
      this.queue.push({ record, settle, seq: this.acknowledged++ });
      this.schedule();
    });
  }

  /** Writes what is queued without waiting for more: an association answers its release only after its rows. */
  flush(): void {
    this.urgent = true;
    this.schedule();
  }

  /** Writes what is queued; rows still refused are left to startup recovery (their files are kept). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.flush();
    while (this.running) await this.running;
    const left = this.retrying.length + this.queue.length;
    if (left > 0) this.deps.log.error('acknowledged instances not yet indexed at shutdown; their spool files are kept and startup recovery will index them', { count: left });
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.urgent || this.queue.length >= MAX_BATCH) this.startStatement();
    else {
      this.gatherTimer ??= setTimeout(() => {
        this.gatherTimer = undefined;
        if (!this.running) this.startStatement();
      }, GATHER_MS);
    }
  }

  private startStatement(): void {
    clearTimeout(this.gatherTimer);
    this.gatherTimer = undefined;
    // Retried rows rejoin the queue behind later ones: in acknowledgement order again.
    const batch = this.queue.splice(0, MAX_BATCH).sort((a, b) => a.seq - b.seq);
    this.running = this.write(batch).finally(() => {
      this.running = undefined;
      if (this.queue.length === 0) this.urgent = false;
      this.schedule();
    });
  }

  private async write(batch: Waiting[]): Promise<void> {
    let results: RecordResult[];
    try {
      results = await recordInstances(
        this.deps.pool,
        batch.map((waiting) => waiting.record),
      );
      if (results.length !== batch.length) throw new Error(`record_instance answered ${results.length} rows for ${batch.length} instances`);
    } catch (err) {
      if (batch.length === 1) return this.refused(batch[0], err);
      // One refused row fails the whole statement: the others go one by one.
      for (const waiting of batch) await this.write([waiting]);
      return;
    }
    // The compressor (or, compression off, the uploader) looks at them now, not at its next poll.
    stageWrote('instances recorded');
    for (const [i, waiting] of batch.entries()) await this.recorded(waiting, results[i]);
  }

  private async recorded(waiting: Waiting, { outcome, obsoletePath }: RecordResult): Promise<void> {
    const { log } = this.deps;
    const { sopInstanceUid, callingAe } = waiting.record;
    if (waiting.failed) log.info('an acknowledged instance was indexed after the database had refused it', { sopInstanceUid });
    // An earlier copy still waiting for the database is superseded, as if it had been recorded and then corrected.
    const earlier = (w: Waiting) => w.record.sopInstanceUid === sopInstanceUid && w.seq < waiting.seq;
    for (const old of [...this.retrying.filter(earlier), ...this.queue.filter(earlier)]) {
      old.settle();
      if (old.record.spoolPath !== waiting.record.spoolPath) await this.removeSpoolFile(old.record.spoolPath, sopInstanceUid);
    }
    this.retrying = this.retrying.filter((w) => !earlier(w));
    this.queue = this.queue.filter((w) => !earlier(w));
    if (obsoletePath) await this.removeSpoolFile(obsoletePath, sopInstanceUid);
    if (outcome === 'corrected') log.info('instance corrected: resent with different bytes, the old copy was replaced', { sopInstanceUid, callingAe });
    waiting.settle();
  }

  private async removeSpoolFile(spoolPath: string, sopInstanceUid: string): Promise<void> {
    const { log, spoolDir } = this.deps;
    await Promise.resolve()
      .then(() => fs.promises.rm(storedFilePath(spoolDir, 'spool', spoolPath), { force: true }))
      .catch((err: unknown) => log.warn('cannot remove the copy a correction replaced', { sopInstanceUid, error: errorMessage(err) }));
  }

  private refused(waiting: Waiting, err: unknown): void {
    if (!waiting.failed) {
      waiting.failed = true;
      this.deps.log.error('the database refused the rows of an acknowledged instance; its spool file is kept, the rows are written again (startup recovery will index it if the agent stops first)', {
        sopInstanceUid: waiting.record.sopInstanceUid,
        spoolPath: waiting.record.spoolPath,
        error: errorMessage(err),
      });
    }
    this.retrying.push(waiting);
    waiting.settle();
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.closed) return;
      this.queue.push(...this.retrying.splice(0));
      this.schedule();
    }, RETRY_MS);
    this.retryTimer.unref();
  }
}
