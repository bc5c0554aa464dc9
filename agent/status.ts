import pg from 'pg';
import type { GatewayConfig } from './config/config';
import { readRunningAgent } from './runtime-file';
import { freeDiskBytes } from './spool/disk-space';

export interface GatewayStatus {
  aeTitle: string;
  agent: { running: boolean; pid?: number; version?: string; startedAt?: string; port: number; tlsPort?: number };
  database: { reachable: boolean; error?: string };
  spool?: { studies: number; instances: number; bytes: number; missingFiles: number; corrections: number; lastReceivedAt: string | null };
  freeDiskBytes?: number;
}

/** What `gateway status` shows: read from the running agent's runtime file and its database. */
export async function readStatus(config: GatewayConfig): Promise<GatewayStatus> {
  const running = readRunningAgent(config.dataDir);
  const status: GatewayStatus = {
    aeTitle: config.aeTitle,
    agent: running
      ? { running: true, pid: running.pid, version: running.version, startedAt: running.startedAt, port: running.port, tlsPort: running.tlsPort }
      : { running: false, port: config.port, tlsPort: config.tls?.port },
    database: { reachable: false },
  };
  status.freeDiskBytes = await freeDiskBytes(config.dataDir).catch(() => undefined);
  const url = config.database.url ?? running?.databaseUrl;
  if (!url) {
    status.database.error = 'the embedded database runs only while the agent runs';
    return status;
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    const { rows } = await client.query(`
      SELECT (SELECT count(*) FROM studies)::int AS studies,
             count(*)::int AS instances,
             coalesce(sum(file_bytes), 0)::bigint AS bytes,
             count(*) FILTER (WHERE missing_since IS NOT NULL)::int AS missing,
             (SELECT count(*) FROM instance_corrections)::int AS corrections,
             max(received_at) AS last
        FROM instances`);
    const row = rows[0];
    status.database.reachable = true;
    status.spool = {
      studies: row.studies,
      instances: row.instances,
      bytes: Number(row.bytes),
      missingFiles: row.missing,
      corrections: row.corrections,
      lastReceivedAt: row.last ? new Date(row.last).toISOString() : null,
    };
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
  if (status.freeDiskBytes !== undefined) lines.push(`Free disk       ${formatBytes(status.freeDiskBytes)}`);
  return lines.join('\n');
}

function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${bytes} bytes`;
}
