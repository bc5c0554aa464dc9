import pg from 'pg';
import { AgentApiClient } from './api/client';
import { composeStatus } from './api/live-status';
import { readStatusFigures } from './api/status-figures';
import { formatBytes, type ApiStatus } from './api/types';
import type { GatewayConfig } from './config/config';
import { databaseUrlFor } from './db/database-url';
import { errorMessage } from './errors';
import { readRunningAgent } from './runtime-file';
import { freeDiskBytes } from './spool/disk-space';
import { recentReceipts, type Receipt } from './studies/completion';

/** Receipts `gateway status` shows. */
const RECENT_RECEIPTS = 5;

/**
 * What `gateway status` shows (and prints with --json): the running agent's own GET /api/status, or, while it is not
 * running (or does not answer), the same model read from the database here. startedAt is then null: only the
 * running agent knows it. The latest receipts (study UIDs, which the unauthenticated API does not give) are read from
 * the database either way.
 */
export type StatusReport = Omit<ApiStatus, 'startedAt'> & {
  startedAt: string | null;
  agent: {
    running: boolean;
    pid?: number;
    apiPort?: number;
    /** Where the figures come from: the agent's local API, or the database read by this command. */
    source: 'agent' | 'database';
    /** Why the running agent's API gave no answer (then source is 'database'). */
    apiError?: string;
  };
  /** Studies the cloud confirmed last, newest first (absent when the database cannot be read). */
  receipts?: Receipt[];
};

/** Asks the running agent; when there is none, or it does not answer, reads the database instead. */
export async function readStatus(config: GatewayConfig, now = new Date()): Promise<StatusReport> {
  const running = readRunningAgent(config.dataDir);
  let apiError: string | undefined;
  if (running?.apiPort) {
    const client = new AgentApiClient({ baseUrl: `http://127.0.0.1:${running.apiPort}`, dataDir: config.dataDir });
    try {
      const status = await client.status();
      const receipts = (await readDatabase(config, (db) => recentReceipts(db, RECENT_RECEIPTS))).value;
      return { ...status, agent: { running: true, pid: running.pid, apiPort: running.apiPort, source: 'agent' }, ...(receipts ? { receipts } : {}) };
    } catch (err) {
      apiError = errorMessage(err);
    }
  }

  const read = await readDatabase(config, async (db) => ({ figures: await readStatusFigures(db, { hl7: config.hl7 !== undefined }), receipts: await recentReceipts(db, RECENT_RECEIPTS) }));
  const free = await freeDiskBytes(config.dataDir).catch(() => null);
  const status = composeStatus({ config, figures: read.value?.figures, databaseError: read.error, freeDiskBytes: free, agent: running ? 'not-answering' : 'stopped', now });
  return {
    ...status,
    startedAt: null,
    agent: { running: running !== undefined, ...(running ? { pid: running.pid, apiPort: running.apiPort } : {}), source: 'database', ...(apiError ? { apiError } : {}) },
    ...(read.value ? { receipts: read.value.receipts } : {}),
  };
}

/** Reads with one connection to the agent's database; the error instead when it cannot be reached or read. */
async function readDatabase<T>(config: GatewayConfig, read: (db: pg.Client) => Promise<T>): Promise<{ value?: T; error?: string }> {
  const url = databaseUrlFor(config);
  if (!url) return { error: 'the embedded database runs only while the agent runs' };
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  // A connection lost after connecting must not end this command with an unhandled error event.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return { value: await read(client) };
  } catch (err) {
    return { error: errorMessage(err) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function formatStatus(report: StatusReport): string {
  const { agent } = report;
  const lines = [`State           ${report.state.toUpperCase()}`, ...report.reasons.map((reason) => `                - ${reason.message}`), `AE title        ${report.aeTitle}`];
  if (agent.source === 'agent') lines.push(`Agent           running (pid ${agent.pid}, version ${report.version}, since ${report.startedAt})`);
  else if (agent.running) lines.push(`Agent           running (pid ${agent.pid}) but its local API does not answer (${agent.apiError ?? 'no API port'}): figures read from the database`);
  else lines.push('Agent           NOT RUNNING: figures read from the database');
  const receiver = report.receiver;
  const ports = `${receiver.port}${receiver.tlsPort ? `, TLS ${receiver.tlsPort}` : ''}`;
  lines.push(`DICOM port      ${ports}${agent.source === 'agent' ? (receiver.listening ? `, listening, ${receiver.activeAssociations} associations open` : ', NOT LISTENING') : ''}`);
  if (agent.apiPort) lines.push(`Status page     http://127.0.0.1:${agent.apiPort}/`);
  lines.push(`Database        ${report.database.ok ? 'ok' : `unavailable (${report.database.error})`}`);
  lines.push(`Upstream        ${upstreamLine(report, agent.source === 'agent')}`);
  if (report.spool) {
    lines.push(`Kept            ${report.spool.studies} studies, ${report.spool.instances} instances, ${formatBytes(report.spool.bytes)}`, `Last received   ${report.lastReceivedAt ?? 'never'}`);
    if (report.spool.corrections) lines.push(`Corrections     ${report.spool.corrections} instances replaced by a resend with different bytes`);
    if (report.spool.missingFiles) lines.push(`MISSING FILES   ${report.spool.missingFiles} indexed instances have no file on disk`);
  }
  if (report.uploads) {
    const u = report.uploads;
    lines.push(`Upload queue    ${u.queued} queued, ${u.sending} sending, ${formatBytes(report.queue.bytes)} waiting; ${u.delivered} delivered`);
    if (agent.source === 'agent') lines.push(`Upload rate     ${report.uploadMbps} Mbps${report.paused ? ' (PAUSED)' : ''}`);
    lines.push(`Last uploaded   ${report.lastUploadedAt ?? 'never'}`);
    if (u.awaitingCommitment) lines.push(`Commitment      ${u.awaitingCommitment} instances stored by the cloud, waiting for its storage commitment report`);
    if (u.failed) lines.push(`FAILED UPLOADS  ${u.failed} instances (see the log; \`gateway retry --all\` queues them again)`);
  }
  const hl7 = report.hl7;
  if (hl7) {
    lines.push(`HL7 port        ${hl7.port}${agent.source === 'agent' ? (hl7.listening ? ', listening' : ', NOT LISTENING') : ''}`);
    if (hl7.messages) lines.push(`HL7 messages    ${hl7.messages.received} received, ${hl7.messages.queued} waiting for the cloud, ${hl7.messages.delivered} delivered`);
    if (hl7.reports) lines.push(`HL7 reports     ${hl7.reports.queued} waiting for the EMR, ${hl7.reports.delivered} delivered`);
    if (hl7.messages?.failed || hl7.reports?.failed)
      lines.push(`FAILED HL7      ${hl7.messages?.failed ?? 0} messages, ${hl7.reports?.failed ?? 0} reports (see the log; \`gateway retry --all\` queues them again)`);
    if (hl7.lastError) lines.push(`HL7 last error  ${hl7.lastError}`);
  }
  const c = report.compression;
  if (c && c.pending + c.compressed + c.keptAsReceived > 0) {
    const ratio = c.ratio > 0 ? `, ${c.ratio.toFixed(2)}:1` : '';
    lines.push(`Compression     ${c.compressed} compressed${ratio}, ${c.keptAsReceived} sent as received, ${c.pending} waiting for a decision`);
  }
  if (c?.lossless) lines.push(`Lossless        ${c.lossless}`);
  for (const receipt of report.receipts ?? []) {
    lines.push(`Receipt         ${receipt.studyUid}: ${receipt.instances} instances, ${formatBytes(receipt.bytes)}, sha256 ${receipt.sha256.slice(0, 16)}..., done ${receipt.doneAt}`);
  }
  if (report.freeDiskBytes !== null) lines.push(`Free disk       ${formatBytes(report.freeDiskBytes)}`);
  return lines.join('\n');
}

function upstreamLine(report: StatusReport, live: boolean): string {
  const upstream = report.upstream;
  if (!upstream.configured) return 'none configured (studies are kept here, not uploaded)';
  const named = `${upstream.kind} ${upstream.target}`;
  if (!live) return named;
  if (upstream.reachable === null) return `${named}, nothing sent yet`;
  const fewer = upstream.parallel ? `, ${upstream.parallel.current} of ${upstream.parallel.max} parallel connections (no room for more: ${upstream.parallel.lastRefusal ?? 'unknown'})` : '';
  if (upstream.reachable) return `${named}, reachable${fewer}`;
  const next = upstream.nextCheckAt ? `, next check at ${upstream.nextCheckAt}` : '';
  return `${named}, UNREACHABLE since ${upstream.unreachableSince ?? 'unknown'}${next}${upstream.lastError ? ` (${upstream.lastError})` : ''}`;
}
