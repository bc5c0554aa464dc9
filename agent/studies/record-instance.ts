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

/**
 * Indexes a spooled instance (study, series and instance rows) and commits, in one round trip.
 * `obsoletePath` is a spool file the caller deletes once this has returned.
 */
export async function recordInstance(pool: Pool, record: InstanceRecord): Promise<{ outcome: RecordOutcome; obsoletePath?: string }> {
  const result = await pool.query(
    'SELECT outcome, obsolete_path FROM record_instance($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
    [
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
    ],
  );
  const row = result.rows[0];
  return { outcome: row.outcome, obsoletePath: row.obsolete_path ?? undefined };
}
