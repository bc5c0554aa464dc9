import type { ClientBase, Pool } from 'pg';
import { hl7Figures, type Hl7QueueFigures } from '../hl7/hl7-queue';
import type { ApiStatus } from './types';

/** What the database says about the spool, the upload queue and compression: the status' figures. */
export interface StatusFigures {
  spool: NonNullable<ApiStatus['spool']>;
  uploads: NonNullable<ApiStatus['uploads']>;
  queue: ApiStatus['queue'];
  compression: NonNullable<ApiStatus['compression']>;
  lastReceivedAt: string | null;
  lastUploadedAt: string | null;
  /** With hl7 configured: its two queues. */
  hl7?: { messages: Hl7QueueFigures; reports: Hl7QueueFigures };
}

interface SpoolRow {
  studies: number;
  instances: number;
  bytes: string;
  missing: number;
  corrections: number;
  received_total: string;
  last: Date | null;
}

interface UploadsRow {
  queued: number;
  sending: number;
  awaiting_commitment: number;
  failed: number;
  delivered: number;
  waiting: string;
  delivered_bytes: string;
  studies_waiting: number;
  last: Date | null;
  done: number;
}

interface CompressionRow {
  pending: number;
  compressed: number;
  kept: number;
  received_bytes: string;
  compressed_bytes: string;
}

/** Reads the figures (the running agent for GET /api/status and /metrics, `gateway status` when it is down). */
export async function readStatusFigures(db: Pool | ClientBase, options: { hl7?: boolean } = {}): Promise<StatusFigures> {
  const spool = (
    await db.query<SpoolRow>(`
    SELECT (SELECT count(*) FROM studies)::int AS studies,
           count(*)::int AS instances,
           coalesce(sum(file_bytes), 0)::bigint AS bytes,
           count(*) FILTER (WHERE missing_since IS NOT NULL)::int AS missing,
           (SELECT count(*) FROM instance_corrections)::int AS corrections,
           (SELECT coalesce(sum(instances), 0) FROM associations)::bigint AS received_total,
           max(received_at) AS last
      FROM instances`)
  ).rows[0];
  const uploads = (
    await db.query<UploadsRow>(`
    SELECT count(*) FILTER (WHERE u.state = 'queued')::int AS queued,
           count(*) FILTER (WHERE u.state = 'sending')::int AS sending,
           count(*) FILTER (WHERE u.state = 'sent')::int AS awaiting_commitment,
           count(*) FILTER (WHERE u.state = 'failed')::int AS failed,
           count(*) FILTER (WHERE u.state = 'done')::int AS delivered,
           coalesce(sum(i.file_bytes) FILTER (WHERE u.state IN ('queued', 'sending')), 0)::bigint AS waiting,
           coalesce(sum(i.file_bytes) FILTER (WHERE u.state = 'done'), 0)::bigint AS delivered_bytes,
           count(DISTINCT u.study_uid) FILTER (WHERE u.state IN ('queued', 'sending'))::int AS studies_waiting,
           max(u.delivered_at) AS last,
           (SELECT count(*) FROM studies WHERE done_at IS NOT NULL)::int AS done
      FROM uploads u JOIN instances i USING (sop_instance_uid)`)
  ).rows[0];
  const compression = (
    await db.query<CompressionRow>(`
    SELECT count(*) FILTER (WHERE c.state = 'pending')::int AS pending,
           count(*) FILTER (WHERE c.state = 'compressed')::int AS compressed,
           count(*) FILTER (WHERE c.state = 'kept')::int AS kept,
           coalesce(sum(i.file_bytes) FILTER (WHERE c.state = 'compressed'), 0)::bigint AS received_bytes,
           coalesce(sum(c.file_bytes) FILTER (WHERE c.state = 'compressed'), 0)::bigint AS compressed_bytes
      FROM compressions c JOIN instances i USING (sop_instance_uid)`)
  ).rows[0];
  const compressedBytes = Number(compression.compressed_bytes);
  return {
    spool: {
      studies: spool.studies,
      instances: spool.instances,
      bytes: Number(spool.bytes),
      missingFiles: spool.missing,
      corrections: spool.corrections,
      instancesReceivedTotal: Number(spool.received_total),
    },
    uploads: {
      queued: uploads.queued,
      sending: uploads.sending,
      awaitingCommitment: uploads.awaiting_commitment,
      failed: uploads.failed,
      delivered: uploads.delivered,
      bytesDelivered: Number(uploads.delivered_bytes),
      studiesDone: uploads.done,
    },
    queue: { studies: uploads.studies_waiting, instances: uploads.queued + uploads.sending, bytes: Number(uploads.waiting), failed: uploads.failed },
    compression: {
      compressed: compression.compressed,
      keptAsReceived: compression.kept,
      pending: compression.pending,
      // Received / compressed bytes of the compressed instances, two decimals (0 when none).
      ratio: compressedBytes > 0 ? Math.round((Number(compression.received_bytes) / compressedBytes) * 100) / 100 : 0,
    },
    lastReceivedAt: spool.last?.toISOString() ?? null,
    lastUploadedAt: uploads.last?.toISOString() ?? null,
    ...(options.hl7 ? { hl7: { messages: await hl7Figures(db, 'hl7_messages'), reports: await hl7Figures(db, 'hl7_reports') } } : {}),
  };
}
