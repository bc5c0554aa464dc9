import type { Pool, PoolClient } from 'pg';

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

/** Indexes a spooled instance (study, series and instance rows) in one round trip: committed, unless `pool` is a client inside a transaction. */
export async function recordInstance(pool: Pool | PoolClient, record: InstanceRecord): Promise<RecordResult> {
  return recordResult((await pool.query<RecordRow>(RECORD_SQL, recordParams(record))).rows[0]);
}

/**
 * Indexes several spooled instances in one statement, so one transaction and one WAL flush: record_instance() for
 * each, in order (the same instance twice sees its first row). Fails as a whole: nothing is committed then.
 */
export async function recordInstances(pool: Pool, records: InstanceRecord[]): Promise<RecordResult[]> {
  const columns = records.map(recordParams);
  const column = (i: number) => columns.map((params) => params[i]);
  // Named: PostgreSQL parses and plans it once per connection.
  const { rows } = await pool.query<RecordRow>({
    name: 'record_instances',
    text: `SELECT r.outcome, r.obsolete_path
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bytea[], $10::text[], $11::bigint[])
            WITH ORDINALITY AS i (sop, series, study, modality, sop_class, transfer_syntax, spool_path, file_bytes, sha256, calling_ae, association_id, n)
      CROSS JOIN LATERAL record_instance(i.sop, i.series, i.study, i.modality, i.sop_class, i.transfer_syntax, i.spool_path, i.file_bytes, i.sha256, i.calling_ae, i.association_id) r
      ORDER BY i.n`,
    values: Array.from({ length: 11 }, (_, i) => column(i)),
  });
  return rows.map(recordResult);
}
