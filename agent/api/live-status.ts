import type { Pool } from 'pg';
import type { GatewayConfig } from '../config/config';
import type { UpstreamConfig } from '../config/upstream-config';
import { logsDir, type Logger } from '../logging';
import type { Receiver } from '../receive/receiver';
import { freeDiskBytes } from '../spool/disk-space';
import { readFigures, type CompressionFigures } from '../status';
import type { Uploader } from '../upload/uploader';
import { VERSION } from '../version';
import { decideState } from './status-state';
import type { ApiStatus } from './types';

/** What the API reads the running agent's state from. */
export interface AgentView {
  config: GatewayConfig;
  pool: Pool;
  databaseUrl: string;
  receiver: Pick<Receiver, 'port' | 'tlsPort' | 'openAssociations' | 'listening'>;
  /** Absent when no upstream is configured. */
  uploader?: Uploader;
  startedAt: string;
  log: Logger;
  /** Asks the agent for an orderly stop (POST /api/stop, used by `gateway stop` and the Windows service host). */
  requestStop?: (by: string) => void;
}

/** The effective upload rate is averaged over this window (or the agent's uptime when shorter). */
const UPLOAD_RATE_WINDOW_MS = 60_000;

/** GET /api/status, and the figures behind it (for /metrics); never rejects: a database error is part of the answer. */
export async function readLiveStatus(view: AgentView, now = new Date()): Promise<{ status: ApiStatus; figures?: Awaited<ReturnType<typeof readFigures>> }> {
  const { config, uploader } = view;
  let figures: Awaited<ReturnType<typeof readFigures>> | undefined;
  let databaseError: string | undefined;
  try {
    figures = await readFigures(view.pool);
  } catch (err) {
    databaseError = (err as Error).message;
  }
  const free = await freeDiskBytes(config.dataDir).catch(() => null);
  const health = uploader?.upstreamHealth() ?? { reachable: null };
  const paused = uploader?.paused ?? false;
  const receiverListening = view.receiver.listening();
  const { state, reasons } = decideState({
    receiverListening,
    databaseOk: figures !== undefined,
    freeDiskBytes: free,
    minFreeDiskBytes: config.limits.minFreeDiskMb * 1048576,
    upstreamConfigured: config.upstream !== undefined,
    upstreamReachable: health.reachable,
    unreachableSince: health.unreachableSince,
    upstreamAlertMinutes: config.api.upstreamAlertMinutes,
    paused,
    failedUploads: figures?.queue.failed ?? 0,
    missingFiles: figures?.spool.missingFiles ?? 0,
    now,
  });
  const status: ApiStatus = {
    state,
    reasons,
    version: VERSION,
    aeTitle: config.aeTitle,
    startedAt: view.startedAt,
    receiver: { listening: receiverListening, port: view.receiver.port, ...(view.receiver.tlsPort ? { tlsPort: view.receiver.tlsPort } : {}), activeAssociations: view.receiver.openAssociations() },
    upstream: config.upstream
      ? {
          configured: true,
          kind: config.upstream.kind,
          target: upstreamTarget(config.upstream),
          reachable: health.reachable,
          ...(health.unreachableSince ? { unreachableSince: health.unreachableSince.toISOString() } : {}),
          ...(health.lastError ? { lastError: health.lastError } : {}),
        }
      : { configured: false, reachable: null },
    queue: {
      studies: figures?.queue.studiesWaiting ?? 0,
      instances: figures ? figures.queue.queued + figures.queue.sending : 0,
      bytes: figures?.queue.bytesWaiting ?? 0,
      failed: figures?.queue.failed ?? 0,
    },
    lastReceivedAt: figures?.spool.lastReceivedAt ?? null,
    lastUploadedAt: figures?.queue.lastDeliveredAt ?? null,
    uploadMbps: uploader ? uploadMbps(uploader.recentDeliveries(), now.getTime(), Date.parse(view.startedAt)) : 0,
    freeDiskBytes: free,
    database: figures ? { ok: true } : { ok: false, error: databaseError },
    paused,
    ...(figures ? { compression: compressionSummary(figures.compression) } : {}),
    logsDir: logsDir(config.dataDir),
  };
  return { status, figures };
}

function compressionSummary(c: CompressionFigures): NonNullable<ApiStatus['compression']> {
  const ratio = c.compressedBytes > 0 ? Math.round((c.receivedBytes / c.compressedBytes) * 100) / 100 : 0;
  return { compressed: c.compressed, keptAsReceived: c.keptAsReceived, pending: c.pending, ratio };
}

/** Payload megabits per second delivered in the last minute (or since the start, when that is sooner), two decimals. */
export function uploadMbps(deliveries: Array<{ at: number; bytes: number }>, now: number, startedAt: number): number {
  const windowMs = Math.max(1000, Math.min(UPLOAD_RATE_WINDOW_MS, now - startedAt));
  const bytes = deliveries.filter((d) => d.at > now - windowMs).reduce((sum, d) => sum + d.bytes, 0);
  return Math.round(((bytes * 8) / (windowMs / 1000) / 1e6) * 100) / 100;
}

/** host:port (with the called AE title) or the STOW-RS URL without any user or password in it. */
function upstreamTarget(upstream: UpstreamConfig): string {
  if (upstream.kind === 'dicom-tls') return `${upstream.calledAeTitle}@${upstream.host}:${upstream.port}`;
  const url = new URL(upstream.url!);
  url.username = '';
  url.password = '';
  return url.toString();
}
