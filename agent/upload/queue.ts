import type { Pool } from 'pg';

/** One instance claimed for delivery. */
export interface ClaimedUpload {
  sopInstanceUid: string;
  studyUid: string;
  sopClassUid: string;
  transferSyntaxUid: string;
  /** Relative to <dataDir>/spool. */
  spoolPath: string;
  /** Relative to <dataDir>/compressed: the verified compressed file to send instead (transferSyntaxUid and fileBytes are its). */
  compressedPath?: string;
  /** With compressedPath: the transfer syntax and size of the spool file as received. */
  received?: { transferSyntaxUid: string; fileBytes: number };
  fileBytes: number;
  datasetSha256: Buffer;
  attempts: number;
  /** The sender replaced this instance after an earlier version was kept (and perhaps delivered). */
  corrected?: boolean;
}

/** A claimed instance as the claim returns it (bigint columns arrive as strings). */
interface ClaimedRow {
  sop_instance_uid: string;
  study_uid: string;
  sop_class_uid: string;
  transfer_syntax_uid: string;
  spool_path: string;
  compressed_path: string | null;
  file_bytes: string;
  dataset_sha256: Buffer;
  attempts: number;
  received_transfer_syntax_uid: string;
  received_file_bytes: string;
  corrections: number;
  study_arrival: Date;
}

export interface ClaimOptions {
  /** Who claims: agent and worker, for the lease and for support. */
  owner: string;
  limit: number;
  leaseSeconds: number;
  /** Modality priorities: a study takes the highest of its series' modalities (default 0). */
  priorities: Array<{ modality: string; priority: number }>;
  /** Only instances kept in this spool (or in no recorded spool) are claimed: their files are readable here. */
  spoolId: string;
  /** Compression is on: an instance waits for its compression decision, and its compressed file is sent when there is one. */
  awaitCompression?: boolean;
}

/**
 * Claims up to `limit` instances due for delivery: queued ones whose next attempt is due, and ones whose lease
 * expired (their worker or agent died). FOR UPDATE SKIP LOCKED lets any number of workers and agents on one
 * database claim at once without ever getting the same instance. Order: study priority, then study arrival.
 */
export async function claimUploads(pool: Pool, options: ClaimOptions): Promise<ClaimedUpload[]> {
  const { rows } = await pool.query<ClaimedRow>(
    `WITH due AS (
       SELECT u.sop_instance_uid
         FROM uploads u JOIN studies s ON s.study_uid = u.study_uid JOIN instances i ON i.sop_instance_uid = u.sop_instance_uid
        WHERE ((u.state = 'queued' AND u.next_attempt_at <= now())
            OR (u.state = 'sending' AND u.lease_expires_at < now()))
          AND (i.spool_id IS NULL OR i.spool_id = $6)
          AND NOT ($7 AND EXISTS (SELECT 1 FROM compressions c WHERE c.sop_instance_uid = u.sop_instance_uid
                                     AND (c.state = 'pending' OR c.dataset_sha256 <> u.dataset_sha256)))
        ORDER BY (SELECT coalesce(max(p.priority), 0)
                    FROM series se JOIN unnest($4::text[], $5::int[]) AS p (modality, priority) ON p.modality = se.modality
                   WHERE se.study_uid = u.study_uid) DESC,
                 s.first_received_at, u.queued_at, u.sop_instance_uid
        LIMIT $2
        FOR UPDATE OF u SKIP LOCKED)
     UPDATE uploads u
        SET state = 'sending', lease_owner = $1, lease_expires_at = now() + make_interval(secs => $3), attempts = u.attempts + 1
       FROM due JOIN instances i ON i.sop_instance_uid = due.sop_instance_uid
            LEFT JOIN compressions c ON $7 AND c.sop_instance_uid = i.sop_instance_uid AND c.state = 'compressed' AND c.dataset_sha256 = i.dataset_sha256
      WHERE u.sop_instance_uid = due.sop_instance_uid
     RETURNING u.sop_instance_uid, u.study_uid, i.sop_class_uid, coalesce(c.transfer_syntax_uid, i.transfer_syntax_uid) AS transfer_syntax_uid, i.spool_path,
               c.compressed_path, coalesce(c.file_bytes, i.file_bytes) AS file_bytes, u.dataset_sha256, u.attempts,
               i.transfer_syntax_uid AS received_transfer_syntax_uid, i.file_bytes AS received_file_bytes, i.corrections,
               (SELECT s.first_received_at FROM studies s WHERE s.study_uid = u.study_uid) AS study_arrival`,
    [options.owner, options.limit, options.leaseSeconds, options.priorities.map((p) => p.modality), options.priorities.map((p) => p.priority), options.spoolId, options.awaitCompression ?? false],
  );
  // RETURNING does not keep the CTE's order; within one claim, send by study arrival.
  rows.sort((a, b) => a.study_arrival.getTime() - b.study_arrival.getTime() || a.sop_instance_uid.localeCompare(b.sop_instance_uid));
  return rows.map((r) => ({
    sopInstanceUid: r.sop_instance_uid,
    studyUid: r.study_uid,
    sopClassUid: r.sop_class_uid,
    transferSyntaxUid: r.transfer_syntax_uid,
    spoolPath: r.spool_path,
    compressedPath: r.compressed_path ?? undefined,
    received: r.compressed_path ? { transferSyntaxUid: r.received_transfer_syntax_uid, fileBytes: Number(r.received_file_bytes) } : undefined,
    fileBytes: Number(r.file_bytes),
    datasetSha256: r.dataset_sha256,
    attempts: r.attempts,
    corrected: r.corrections > 0,
  }));
}

/** Keeps a claim alive while a long transfer runs. */
export async function renewLease(pool: Pool, owner: string, sopInstanceUids: string[], leaseSeconds: number): Promise<void> {
  await pool.query(
    `UPDATE uploads SET lease_expires_at = now() + make_interval(secs => $3)
      WHERE sop_instance_uid = ANY($2) AND state = 'sending' AND lease_owner = $1`,
    [owner, sopInstanceUids, leaseSeconds],
  );
}

/**
 * Marks instances delivered, only for the version that was sent: a correction that arrived meanwhile stays queued.
 * Returns the SOP Instance UIDs that were marked.
 */
export async function markDelivered(pool: Pool, owner: string, delivered: Array<{ sopInstanceUid: string; datasetSha256: Buffer }>): Promise<string[]> {
  if (delivered.length === 0) return [];
  const { rows } = await pool.query<{ sop_instance_uid: string }>(
    `UPDATE uploads u SET state = 'done', delivered_at = now(), lease_owner = NULL, lease_expires_at = NULL, last_error = NULL
       FROM unnest($2::text[], $3::bytea[]) AS d (sop_instance_uid, dataset_sha256)
      WHERE u.sop_instance_uid = d.sop_instance_uid AND u.dataset_sha256 = d.dataset_sha256 AND u.state = 'sending' AND u.lease_owner = $1
     RETURNING u.sop_instance_uid`,
    [owner, delivered.map((d) => d.sopInstanceUid), delivered.map((d) => d.datasetSha256)],
  );
  return rows.map((r) => r.sop_instance_uid);
}

/** Seconds before the next attempt, in SQL: capped exponential in the attempts so far, half fixed, half random. */
export function retryDelaySql(attempts: string, baseSeconds: string, maxSeconds: string): string {
  return `greatest(1, least(${maxSeconds}::float8, ${baseSeconds}::float8 * power(2, greatest(0, ${attempts} - 1))) * (0.5 + random() / 2))`;
}

/**
 * Records failed attempts. Transient errors (network, refused, busy peer) are retried after a capped exponential
 * backoff with jitter (half fixed, half random, so many instances failed together do not retry together);
 * permanent ones (the cloud refuses this instance) go to the visible failed state. Nothing is ever dropped.
 */
export async function markFailed(
  pool: Pool,
  owner: string,
  failures: Array<{ sopInstanceUid: string; error: string; permanent: boolean }>,
  retry: { baseSeconds: number; maxSeconds: number },
): Promise<void> {
  if (failures.length === 0) return;
  await pool.query(
    `WITH f AS (SELECT * FROM unnest($2::text[], $3::text[], $4::boolean[]) AS f (sop_instance_uid, error, permanent))
     UPDATE uploads u
        SET state = CASE WHEN f.permanent THEN 'failed' ELSE 'queued' END,
            next_attempt_at = now() + make_interval(secs => CASE WHEN f.permanent THEN 0 ELSE ${retryDelaySql('u.attempts', '$5', '$6')} END),
            last_error = left(f.error, 1000), lease_owner = NULL, lease_expires_at = NULL
       FROM f
      WHERE u.sop_instance_uid = f.sop_instance_uid AND u.state = 'sending' AND u.lease_owner = $1`,
    [owner, failures.map((f) => f.sopInstanceUid), failures.map((f) => f.error), failures.map((f) => f.permanent), retry.baseSeconds, retry.maxSeconds],
  );
}

/**
 * Instances of a batch that could not reach the cloud at all go back to the queue as they were: the claim's attempt
 * is not counted and no backoff is added, so they leave first, in their order, once the cloud is back.
 */
export async function releaseForOutage(pool: Pool, owner: string, sopInstanceUids: string[], error: string): Promise<void> {
  if (sopInstanceUids.length === 0) return;
  await pool.query(
    `UPDATE uploads SET state = 'queued', attempts = greatest(attempts - 1, 0), last_error = left($3, 1000), lease_owner = NULL, lease_expires_at = NULL
      WHERE sop_instance_uid = ANY($2) AND state = 'sending' AND lease_owner = $1`,
    [owner, sopInstanceUids, error],
  );
}

/** `gateway retry`: queues failed instances again, of one study or all; resolves to how many. */
export async function requeueFailed(pool: Pool, studyUid?: string): Promise<number> {
  const result = await pool.query(
    `UPDATE uploads SET state = 'queued', next_attempt_at = now(), attempts = 0, last_error = NULL
      WHERE state = 'failed' AND ($1::text IS NULL OR study_uid = $1)`,
    [studyUid ?? null],
  );
  return result.rowCount ?? 0;
}
