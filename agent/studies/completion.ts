import type { ClientBase, Pool } from 'pg';
import type { StudiesConfig } from '../config/upstream-config';

/**
 * Marks quiet series complete, then studies whose series are all complete and which have been quiet for
 * studyQuietSeconds, or which have been arriving for longer than forceCompleteMinutes. Returns the studies
 * completed now. Idempotent: several agents on one database may run it.
 */
export async function completeQuietStudies(pool: Pool, studies: StudiesConfig): Promise<Array<{ studyUid: string; forced: boolean }>> {
  await pool.query(
    `UPDATE series SET completed_at = now()
      WHERE completed_at IS NULL AND last_received_at <= now() - make_interval(secs => $1)`,
    [studies.seriesQuietSeconds],
  );
  const { rows } = await pool.query<{ study_uid: string; force_completed: boolean }>(
    `UPDATE studies s
        SET completed_at = now(),
            force_completed = s.last_received_at > now() - make_interval(secs => $1)
                           OR EXISTS (SELECT 1 FROM series se WHERE se.study_uid = s.study_uid AND se.completed_at IS NULL)
      WHERE s.completed_at IS NULL
        AND ((s.last_received_at <= now() - make_interval(secs => $1)
              AND NOT EXISTS (SELECT 1 FROM series se WHERE se.study_uid = s.study_uid AND se.completed_at IS NULL))
             OR s.first_received_at <= now() - make_interval(mins => $2))
     RETURNING s.study_uid, s.force_completed`,
    [studies.studyQuietSeconds, studies.forceCompleteMinutes],
  );
  return rows.map((r) => ({ studyUid: r.study_uid, forced: r.force_completed }));
}

export interface Receipt {
  studyUid: string;
  instances: number;
  bytes: number;
  /** Hex SHA-256 over the instances' dataset hashes in SOP Instance UID order. */
  sha256: string;
  doneAt: string;
}

/** Complete studies whose every instance the cloud has confirmed become done, with their receipt. */
export async function finishDeliveredStudies(pool: Pool): Promise<Receipt[]> {
  const { rows } = await pool.query<ReceiptRow>(
    `UPDATE studies s
        SET done_at = now(), receipt_instances = r.instances, receipt_bytes = r.bytes, receipt_sha256 = r.digest
       FROM (SELECT i.study_uid, count(*)::int AS instances, sum(i.file_bytes)::bigint AS bytes,
                    sha256(string_agg(i.dataset_sha256, ''::bytea ORDER BY i.sop_instance_uid)) AS digest
               FROM instances i GROUP BY i.study_uid) r
      WHERE s.study_uid = r.study_uid AND s.completed_at IS NOT NULL AND s.done_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.study_uid = s.study_uid AND u.state <> 'done')
        AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.study_uid = s.study_uid AND i.missing_since IS NOT NULL)
     RETURNING s.study_uid, s.receipt_instances, s.receipt_bytes, s.receipt_sha256, s.done_at`,
  );
  return rows.map(toReceipt);
}

/** The most recent receipts, newest first. */
export async function recentReceipts(pool: Pool | ClientBase, limit = 10): Promise<Receipt[]> {
  const { rows } = await pool.query<ReceiptRow>(`SELECT study_uid, receipt_instances, receipt_bytes, receipt_sha256, done_at FROM studies WHERE done_at IS NOT NULL ORDER BY done_at DESC LIMIT $1`, [
    limit,
  ]);
  return rows.map(toReceipt);
}

/** A done study's receipt columns (set together with done_at, so not null here; bigint arrives as a string). */
interface ReceiptRow {
  study_uid: string;
  receipt_instances: number;
  receipt_bytes: string;
  receipt_sha256: Buffer;
  done_at: Date;
}

function toReceipt(row: ReceiptRow): Receipt {
  return {
    studyUid: row.study_uid,
    instances: row.receipt_instances,
    bytes: Number(row.receipt_bytes),
    sha256: row.receipt_sha256.toString('hex'),
    doneAt: row.done_at.toISOString(),
  };
}
