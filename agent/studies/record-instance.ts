import type { Pool } from 'pg';

export interface InstanceRecord {
  sopInstanceUid: string;
  seriesUid: string;
  studyUid: string;
  modality: string | undefined;
  sopClassUid: string;
  transferSyntaxUid: string;
  spoolPath: string;
  fileBytes: number;
  datasetSha256: Buffer;
  callingAe: string;
  associationId: number | undefined;
}

export type RecordOutcome = 'new' | 'duplicate' | 'restored' | 'corrected';

export interface RecordResult {
  outcome: RecordOutcome;
  /** A spool file the caller deletes once the row is committed. */
  obsoletePath?: string;
}

/** What record_instance() answers (migration 0001 and later). */
interface RecordRow {
  outcome: RecordOutcome;
  obsolete_path: string | null;
}

const RECORD_SQL = 'SELECT outcome, obsolete_path FROM record_instance($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)';

function recordParams(record: InstanceRecord): unknown[] {
  return [
    record.sopInstanceUid,
    record.seriesUid,
    record.studyUid,
    record.modality ?? null,
    record.sopClassUid,
    record.transferSyntaxUid,
    record.spoolPath,
    record.fileBytes,
    record.datasetSha256,
    record.callingAe,
    record.associationId ?? null,
  ];
}

function recordResult(row: RecordRow): RecordResult {
  return { outcome: row.outcome, obsoletePath: row.obsolete_path ?? undefined };
}

/** Indexes a spooled instance (study, series and instance rows) and commits, in one round trip. */
export async function recordInstance(pool: Pool, record: InstanceRecord): Promise<RecordResult> {
  return recordResult((await pool.query<RecordRow>(RECORD_SQL, recordParams(record))).rows[0]);
}

/** Rows written in an open transaction: nobody sees them until commit(). Exactly one of commit/rollback must follow. */
export interface PreparedRecord {
  result: RecordResult;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/**
 * Writes the rows of a spooled instance without committing them, so the receive path can do this while the file's
 * fsync runs, answer once the file is durable in place, and commit after answering (startup recovery indexes a
 * kept file whose commit never came).
 */
export async function prepareInstanceRecord(pool: Pool, record: InstanceRecord): Promise<PreparedRecord> {
  const client = await pool.connect();
  let released = false;
  // A connection whose COMMIT or ROLLBACK failed is in an unknown state: it is dropped, not returned to the pool.
  const finish = async (sql: 'COMMIT' | 'ROLLBACK') => {
    if (released) return;
    released = true;
    try {
      await client.query(sql);
      client.release();
    } catch (err) {
      client.release(err as Error);
      throw err;
    }
  };
  try {
    await client.query('BEGIN');
    const result = recordResult((await client.query<RecordRow>(RECORD_SQL, recordParams(record))).rows[0]);
    return { result, commit: () => finish('COMMIT'), rollback: () => finish('ROLLBACK') };
  } catch (err) {
    await finish('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
