import pg from 'pg';
import type { GatewayConfig } from './config/config';
import { readRunningAgent } from './runtime-file';
import { databaseUrlFor } from './db/database-url';
import { freeDiskBytes } from './spool/disk-space';
import { recentReceipts, type Receipt } from './studies/completion';

export interface SpoolFigures {
  studies: number;
  instances: number;
  bytes: number;
  missingFiles: number;
  corrections: number;
  lastReceivedAt: string | null;
  /** C-STOREs kept over the database's life (from the associations table): a counter for /metrics. */
  instancesReceivedTotal: number;
}

export interface QueueFigures {
  queued: number;
  sending: number;
  /** Stored by the cloud, waiting for its Storage Commitment report. */
  awaitingCommitment: number;
  failed: number;
  delivered: number;
  /** Bytes of queued and sending instances (failed ones wait for a person, not for the queue). */
  bytesWaiting: number;
  bytesDelivered: number;
  /** Studies with queued or sending instances. */
  studiesWaiting: number;
  lastDeliveredAt: string | null;
  studiesDone: number;
}

export interface CompressionFigures {
  /** Instances whose compression decision is still to be made (their upload waits for it). */
  pending: number;
  compressed: number;
  keptAsReceived: number;
  /** Received bytes of the compressed instances, and the bytes of their compressed files. */
  receivedBytes: number;
  compressedBytes: number;
}

export interface GatewayStatus {
  aeTitle: string;
  agent: { running: boolean; pid?: number; version?: string; startedAt?: string; port: number; tlsPort?: number; apiPort?: number };
  database: { reachable: boolean; error?: string };
  spool?: SpoolFigures;
  queue?: QueueFigures;
  compression?: CompressionFigures;
  receipts?: Receipt[];
  freeDiskBytes?: number;
}

/** What the spool and the upload queue hold: `gateway status` and the local API read the same figures. */
export async function readFigures(db: { query: pg.Pool['query'] }): Promise<{ spool: SpoolFigures; queue: QueueFigures; compression: CompressionFigures }> {
  const { rows } = await db.query(`
    SELECT (SELECT count(*) FROM studies)::int AS studies,
           count(*)::int AS instances,
           coalesce(sum(file_bytes), 0)::bigint AS bytes,
           count(*) FILTER (WHERE missing_since IS NOT NULL)::int AS missing,
           (SELECT count(*) FROM instance_corrections)::int AS corrections,
           (SELECT coalesce(sum(instances), 0) FROM associations)::bigint AS received_total,
           max(received_at) AS last
      FROM instances`);
  const row = rows[0];
  const queue = (await db.query(`
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
      FROM uploads u JOIN instances i USING (sop_instance_uid)`)).rows[0];
  const compression = (await db.query(`
    SELECT count(*) FILTER (WHERE c.state = 'pending')::int AS pending,
           count(*) FILTER (WHERE c.state = 'compressed')::int AS compressed,
           count(*) FILTER (WHERE c.state = 'kept')::int AS kept,
           coalesce(sum(i.file_bytes) FILTER (WHERE c.state = 'compressed'), 0)::bigint AS received_bytes,
           coalesce(sum(c.file_bytes) FILTER (WHERE c.state = 'compressed'), 0)::bigint AS compressed_bytes
      FROM compressions c JOIN instances i USING (sop_instance_uid)`)).rows[0];
  return {
    spool: {
      studies: row.studies,
      instances: row.instances,
      bytes: Number(row.bytes),
      missingFiles: row.missing,
      corrections: row.corrections,
      lastReceivedAt: row.last ? new Date(row.last).toISOString() : null,
      instancesReceivedTotal: Number(row.received_total),
    },
    queue: {
      queued: queue.queued,
      sending: queue.sending,
      awaitingCommitment: queue.awaiting_commitment,
      failed: queue.failed,
      delivered: queue.delivered,
      bytesWaiting: Number(queue.waiting),
      bytesDelivered: Number(queue.delivered_bytes),
      studiesWaiting: queue.studies_waiting,
      lastDeliveredAt: queue.last ? new Date(queue.last).toISOString() : null,
      studiesDone: queue.done,
    },
    compression: {
      pending: compression.pending,
      compressed: compression.compressed,
      keptAsReceived: compression.kept,
      receivedBytes: Number(compression.received_bytes),
      compressedBytes: Number(compression.compressed_bytes),
    },
  };
}

/** What `gateway status` shows: read from the running agent's runtime file and its database. */
export async function readStatus(config: GatewayConfig): Promise<GatewayStatus> {
  const running = readRunningAgent(config.dataDir);
  const status: GatewayStatus = {
    aeTitle: config.aeTitle,
    agent: running
      ? { running: true, pid: running.pid, version: running.version, startedAt: running.startedAt, port: running.port, tlsPort: running.tlsPort, apiPort: running.apiPort }
      : { running: false, port: config.port, tlsPort: config.tls?.port },
    database: { reachable: false },
  };
  status.freeDiskBytes = await freeDiskBytes(config.dataDir).catch(() => undefined);
  const url = databaseUrlFor(config);
  if (!url) {
    status.database.error = 'the embedded database runs only while the agent runs';
    return status;
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    const figures = await readFigures(client);
    status.spool = figures.spool;
    status.queue = figures.queue;
    status.compression = figures.compression;
    status.receipts = await recentReceipts(client, 5);
    status.database.reachable = true;
  } catch (err) {
    status.database.error = (err as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
  return status;
}

export function formatStatus(status: GatewayStatus): string {
  const lines = [
    `AE title        ${status.aeTitle}`,
    status.agent.running
      ? `Agent           running (pid ${status.agent.pid}, version ${status.agent.version}, since ${status.agent.startedAt})`
      : 'Agent           NOT RUNNING',
    `DICOM port      ${status.agent.port}${status.agent.tlsPort ? `, TLS ${status.agent.tlsPort}` : ''}`,
    ...(status.agent.apiPort ? [`Status page     http://127.0.0.1:${status.agent.apiPort}/`] : []),
    `Database        ${status.database.reachable ? 'ok' : `unavailable (${status.database.error})`}`,
  ];
  if (status.spool) {
    lines.push(
      `Kept            ${status.spool.studies} studies, ${status.spool.instances} instances, ${formatBytes(status.spool.bytes)}`,
      `Last received   ${status.spool.lastReceivedAt ?? 'never'}`,
    );
    if (status.spool.corrections) lines.push(`Corrections     ${status.spool.corrections} instances replaced by a resend with different bytes`);
    if (status.spool.missingFiles) lines.push(`MISSING FILES   ${status.spool.missingFiles} indexed instances have no file on disk`);
  }
  if (status.queue) {
    const q = status.queue;
    lines.push(
      `Upload queue    ${q.queued} queued, ${q.sending} sending, ${formatBytes(q.bytesWaiting)} waiting; ${q.delivered} delivered`,
      `Last uploaded   ${q.lastDeliveredAt ?? 'never'}`,
    );
    if (q.awaitingCommitment) lines.push(`Commitment      ${q.awaitingCommitment} instances stored by the cloud, waiting for its storage commitment report`);
    if (q.failed) lines.push(`FAILED UPLOADS  ${q.failed} instances (see the log; \`gateway retry --all\` queues them again)`);
  }
  const c = status.compression;
  if (c && c.pending + c.compressed + c.keptAsReceived > 0) {
    const ratio = c.compressedBytes > 0 ? `, ${(c.receivedBytes / c.compressedBytes).toFixed(2)}:1` : '';
    lines.push(`Compression     ${c.compressed} compressed${ratio}, ${c.keptAsReceived} sent as received, ${c.pending} waiting for a decision`);
  }
  for (const receipt of status.receipts ?? []) {
    lines.push(`Receipt         ${receipt.studyUid}: ${receipt.instances} instances, ${formatBytes(receipt.bytes)}, sha256 ${receipt.sha256.slice(0, 16)}..., done ${receipt.doneAt}`);
  }
  if (status.freeDiskBytes !== undefined) lines.push(`Free disk       ${formatBytes(status.freeDiskBytes)}`);
  return lines.join('\n');
}

function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${bytes} bytes`;
}
