import type { Pool } from 'pg';
import type { ApiStudiesPage, ApiStudy, StudyState } from './types';

export const STUDIES_MAX_LIMIT = 200;

/** One study with its counts (bigint sums arrive as strings; the receipt columns are set once it is done). */
interface StudyRow {
  study_uid: string;
  first_received_at: Date;
  last_received_at: Date;
  completed_at: Date | null;
  done_at: Date | null;
  purged_at: Date | null;
  receipt_instances: number | null;
  receipt_bytes: string | null;
  modality: string | null;
  received: number;
  bytes: string;
  uploaded: number;
  bytes_uploaded: string;
  failed: number;
  sending: number;
}
export const STUDIES_DEFAULT_LIMIT = 50;

/**
 * Recent studies, the most recently received first, with their upload progress. The database keeps no patient
 * names (only UIDs, sizes and times), so ApiStudy.patientName is never filled.
 */
export async function listStudies(pool: Pool, page: { limit: number; offset: number }): Promise<ApiStudiesPage> {
  const { rows } = await pool.query<StudyRow>(
    `SELECT s.study_uid, s.first_received_at, s.last_received_at, s.completed_at, s.done_at, s.purged_at, s.receipt_instances, s.receipt_bytes,
            (SELECT string_agg(DISTINCT se.modality, ', ') FROM series se WHERE se.study_uid = s.study_uid) AS modality,
            count(i.sop_instance_uid)::int AS received,
            coalesce(sum(i.file_bytes), 0)::bigint AS bytes,
            count(*) FILTER (WHERE u.state = 'done')::int AS uploaded,
            coalesce(sum(i.file_bytes) FILTER (WHERE u.state = 'done'), 0)::bigint AS bytes_uploaded,
            count(*) FILTER (WHERE u.state = 'failed')::int AS failed,
            count(*) FILTER (WHERE u.state IN ('sending', 'sent'))::int AS sending
       FROM (SELECT * FROM studies ORDER BY last_received_at DESC, study_uid LIMIT $1 OFFSET $2) s
       LEFT JOIN instances i ON i.study_uid = s.study_uid
       LEFT JOIN uploads u ON u.sop_instance_uid = i.sop_instance_uid
      GROUP BY s.study_uid, s.first_received_at, s.last_received_at, s.completed_at, s.done_at, s.purged_at, s.receipt_instances, s.receipt_bytes
      ORDER BY s.last_received_at DESC, s.study_uid`,
    [page.limit, page.offset],
  );
  const total = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM studies')).rows[0].n;
  const studies = rows.map((r): ApiStudy => {
    // A done study whose files retention removed has no instance rows left: its receipt tells what was sent.
    const receipt = r.received === 0 && r.done_at && r.receipt_instances !== null ? { instances: r.receipt_instances, bytes: Number(r.receipt_bytes) } : undefined;
    return {
      studyUid: r.study_uid,
      modality: r.modality,
      instancesReceived: receipt ? receipt.instances : r.received,
      instancesUploaded: receipt ? receipt.instances : r.uploaded,
      instancesFailed: r.failed,
      bytes: receipt ? receipt.bytes : Number(r.bytes),
      bytesUploaded: receipt ? receipt.bytes : Number(r.bytes_uploaded),
      state: studyState(r),
      firstReceivedAt: iso(r.first_received_at)!,
      lastReceivedAt: iso(r.last_received_at)!,
      completedAt: iso(r.completed_at),
      doneAt: iso(r.done_at),
      purgedAt: receipt ? iso(r.purged_at) : null,
    };
  });
  return { studies, total, limit: page.limit, offset: page.offset };
}

/** Failed first (it needs a person), then done, then what is moving: sending, still arriving, waiting to be sent. */
function studyState(r: StudyRow): StudyState {
  if (r.failed > 0) return 'failed';
  if (r.done_at) return 'done';
  if (r.sending > 0) return 'uploading';
  if (!r.completed_at) return 'receiving';
  return r.uploaded > 0 ? 'uploading' : 'queued';
}

function iso(value: Date | null): string | null {
  return value ? new Date(value).toISOString() : null;
}
