import type { Pool } from 'pg';
import { withTransaction } from '../db/transaction';
import type { Logger } from '../logging';
import { describeFailureReason, type CommitmentReport } from './commitment-dataset';

/**
 * Instances the cloud stored by C-STORE now wait for its Storage Commitment report ('sending' -> 'sent'). Recorded
 * before the N-ACTION goes out, so a report that arrives at once on another association finds its transaction.
 * Only the version that was sent is marked; returns the SOP Instance UIDs marked.
 */
export async function recordCommitmentRequest(pool: Pool, owner: string, transactionUid: string, sent: Array<{ sopInstanceUid: string; datasetSha256: Buffer }>): Promise<string[]> {
  return withTransaction(pool, async (client) => {
    await client.query('INSERT INTO storage_commitments (transaction_uid, requested_by, instances) VALUES ($1, $2, 0)', [transactionUid, owner]);
    const { rows } = await client.query<{ sop_instance_uid: string }>(
      `UPDATE uploads u SET state = 'sent', commitment_uid = $2, delivered_at = now(), committed_at = NULL,
              lease_owner = NULL, lease_expires_at = NULL, last_error = NULL
         FROM unnest($3::text[], $4::bytea[]) AS d (sop_instance_uid, dataset_sha256)
        WHERE u.sop_instance_uid = d.sop_instance_uid AND u.dataset_sha256 = d.dataset_sha256 AND u.state = 'sending' AND u.lease_owner = $1
       RETURNING u.sop_instance_uid`,
      [owner, transactionUid, sent.map((s) => s.sopInstanceUid), sent.map((s) => s.datasetSha256)],
    );
    await client.query('UPDATE storage_commitments SET instances = $2 WHERE transaction_uid = $1', [transactionUid, rows.length]);
    return rows.map((r) => r.sop_instance_uid);
  });
}

export interface AppliedReport {
  /** False when no request of ours has this Transaction UID. */
  known: boolean;
  committed: number;
  failed: Array<{ sopInstanceUid: string; error: string; permanent: boolean }>;
}

/**
 * Applies a Storage Commitment report: committed instances are done; failed ones are queued to be sent again, or
 * failed (visible, `gateway retry`) when the reason says a resend cannot help. Instances of another transaction, or
 * replaced by a correction meanwhile, are left as they are.
 */
export async function recordCommitmentReport(pool: Pool, report: CommitmentReport): Promise<AppliedReport> {
  const failures = report.failed.map((f) => {
    const reason = describeFailureReason(f.reason);
    return { sopInstanceUid: f.sopInstanceUid, error: `storage commitment failed: ${reason.meaning}`, permanent: reason.permanent };
  });
  return withTransaction(pool, async (client) => {
    const known = await client.query('UPDATE storage_commitments SET reported_at = now(), committed = $2, failed = $3 WHERE transaction_uid = $1', [
      report.transactionUid,
      report.committed.length,
      report.failed.length,
    ]);
    const committed = await client.query(
      `UPDATE uploads SET state = 'done', committed_at = now()
        WHERE commitment_uid = $1 AND state = 'sent' AND sop_instance_uid = ANY($2)`,
      [report.transactionUid, report.committed.map((c) => c.sopInstanceUid)],
    );
    const failed = await client.query<{ sop_instance_uid: string }>(
      `UPDATE uploads u SET state = CASE WHEN f.permanent THEN 'failed' ELSE 'queued' END, next_attempt_at = now(), last_error = left(f.error, 1000)
         FROM unnest($2::text[], $3::text[], $4::boolean[]) AS f (sop_instance_uid, error, permanent)
        WHERE u.commitment_uid = $1 AND u.state = 'sent' AND u.sop_instance_uid = f.sop_instance_uid
       RETURNING u.sop_instance_uid`,
      [report.transactionUid, failures.map((f) => f.sopInstanceUid), failures.map((f) => f.error), failures.map((f) => f.permanent)],
    );
    const applied = new Set(failed.rows.map((r) => r.sop_instance_uid as string));
    return { known: (known.rowCount ?? 0) > 0, committed: committed.rowCount ?? 0, failed: failures.filter((f) => applied.has(f.sopInstanceUid)) };
  });
}

/**
 * Ends a request that will get no report. 'confirmed': the cloud does not commit (it refused the N-ACTION), so
 * C-STORE success confirms the instances. 'retry': the request failed on the way; the instances go back under this
 * worker's claim, for markFailed to queue them with its backoff. Returns the SOP Instance UIDs concerned.
 */
export async function withdrawCommitment(pool: Pool, owner: string, transactionUid: string, outcome: 'confirmed' | 'retry', leaseSeconds: number): Promise<string[]> {
  const { rows } = await pool.query<{ sop_instance_uid: string }>(
    `UPDATE uploads SET state = CASE WHEN $3 = 'confirmed' THEN 'done' ELSE 'sending' END,
            lease_owner = CASE WHEN $3 = 'confirmed' THEN NULL ELSE $2 END,
            lease_expires_at = CASE WHEN $3 = 'confirmed' THEN NULL ELSE now() + make_interval(secs => $4) END
      WHERE commitment_uid = $1 AND state = 'sent'
     RETURNING sop_instance_uid`,
    [transactionUid, owner, outcome, leaseSeconds],
  );
  return rows.map((r) => r.sop_instance_uid);
}

/**
 * Instances whose commitment report did not come within timeoutSeconds (lost, or the cloud cannot reach the
 * gateway's listener) are queued to be sent and committed again. Survives restarts: it reads only the database.
 * Returns how many.
 */
export async function requeueUnreportedCommitments(pool: Pool, timeoutSeconds: number): Promise<number> {
  const result = await pool.query(
    `UPDATE uploads u SET state = 'queued', next_attempt_at = now(),
            last_error = format('no storage commitment report within %s s (transaction %s): sent again', $1::int, c.transaction_uid)
       FROM storage_commitments c
      WHERE u.commitment_uid = c.transaction_uid AND u.state = 'sent' AND c.requested_at <= now() - make_interval(secs => $1)`,
    [timeoutSeconds],
  );
  return result.rowCount ?? 0;
}

/** Records a report that arrived (over our association, or at the gateway's listener) and logs what it said. */
export async function acceptCommitmentReport(pool: Pool, log: Logger, report: CommitmentReport, via: string): Promise<void> {
  const applied = await recordCommitmentReport(pool, report);
  if (!applied.known) {
    log.warn('storage commitment report for a transaction we did not request; ignored', { transactionUid: report.transactionUid, via });
    return;
  }
  log.info('storage commitment report', { transactionUid: report.transactionUid, via, committed: applied.committed, failed: applied.failed.length });
  for (const f of applied.failed)
    log.warn(f.permanent ? 'instance not committed by the cloud; shown as failed' : 'instance not committed by the cloud; it will be sent again', { sopInstanceUid: f.sopInstanceUid, error: f.error });
}
