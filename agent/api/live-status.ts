import type { Pool } from 'pg';
import type { GatewayConfig } from '../config/config';
import { errorMessage } from '../errors';
import { logsDir, type Logger } from '../logging';
import type { Receiver } from '../receive/receiver';
import { freeDiskBytes } from '../spool/disk-space';
import { upstreamTarget } from '../upload/upstream-target';
import type { UpstreamHealth, Uploader } from '../upload/uploader';
import type { Hl7Interface } from '../hl7/hl7-interface';
import type { Compressor } from '../compress/compressor';
import { VERSION } from '../version';
import { readStatusFigures, type StatusFigures } from './status-figures';
import { decideState, type AgentPresence } from './status-state';
import type { ApiStatus } from './types';

/** What the API reads the running agent's state from. */
export interface AgentView {
  config: GatewayConfig;
  pool: Pool;
  databaseUrl: string;
  receiver: Pick<Receiver, 'port' | 'tlsPort' | 'openAssociations' | 'listening'>;
  /** Absent when no upstream is configured. */
  uploader?: Uploader;
  /** Absent when hl7 is not configured. */
  hl7?: Hl7Interface;
  /** Absent when compression is off. */
  compressor?: Pick<Compressor, 'losslessDecision'>;
  startedAt: string;
  log: Logger;
  /** Asks the agent for an orderly stop (POST /api/stop, used by `gateway stop` and the Windows service host). */
  requestStop?: (by: string) => void;
}

/** The effective upload rate is averaged over this window (or the agent's uptime when shorter). */
const UPLOAD_RATE_WINDOW_MS = 60_000;

/** What only the running agent knows about itself. */
export interface LiveFacts {
  receiver: ApiStatus['receiver'];
  upstreamHealth: UpstreamHealth;
  paused: boolean;
  uploadMbps: number;
  /** With hl7 configured. */
  hl7?: { listening: boolean; port: number; lastError?: string };
  /** With compression on: what lossless rules do now, and why. */
  losslessDecision?: string;
}

/** Everything a status is made of: the agent's own facts when it runs, else what the database and the disk say. */
export interface StatusSources {
  config: GatewayConfig;
  /** Absent when the database did not answer (databaseError says why). */
  figures?: StatusFigures;
  databaseError?: string;
  freeDiskBytes: number | null;
  /** The running agent's facts, or why there are none. */
  agent: LiveFacts | Exclude<AgentPresence, 'running'>;
  now: Date;
}

/**
 * The one status model: GET /api/status of the running agent, and `gateway status` read from the database while it
 * is down (then without startedAt, which only the running agent knows).
 */
export function composeStatus(sources: StatusSources): Omit<ApiStatus, 'startedAt'> {
  const { config, figures, agent, now } = sources;
  const live = typeof agent === 'string' ? undefined : agent;
  const health = live?.upstreamHealth ?? { reachable: null };
  const paused = live?.paused ?? false;
  const { state, reasons } = decideState({
    agent: typeof agent === 'string' ? agent : 'running',
    receiverListening: live?.receiver.listening ?? false,
    databaseOk: figures !== undefined,
    freeDiskBytes: sources.freeDiskBytes,
    minFreeDiskBytes: config.limits.minFreeDiskMb * 1048576,
    upstreamConfigured: config.upstream !== undefined,
    upstreamReachable: health.reachable,
    unreachableSince: health.unreachableSince,
    nextCheckAt: health.nextCheckAt,
    upstreamAlertMinutes: config.api.upstreamAlertMinutes,
    paused,
    failedUploads: figures?.queue.failed ?? 0,
    hl7: config.hl7 ? { listening: live?.hl7?.listening ?? false, failedMessages: figures?.hl7?.messages.failed ?? 0, failedReports: figures?.hl7?.reports.failed ?? 0 } : undefined,
    missingFiles: figures?.spool.missingFiles ?? 0,
    now,
  });
  return {
    state,
    reasons,
    version: VERSION,
    aeTitle: config.aeTitle,
    receiver: live?.receiver ?? { listening: false, port: config.port, ...(config.tls ? { tlsPort: config.tls.port } : {}), activeAssociations: 0 },
    upstream: config.upstream
      ? {
          configured: true,
          kind: config.upstream.kind,
          target: upstreamTarget(config.upstream),
          reachable: health.reachable,
          ...(health.unreachableSince ? { unreachableSince: health.unreachableSince.toISOString() } : {}),
          ...(health.nextCheckAt ? { nextCheckAt: health.nextCheckAt.toISOString() } : {}),
          ...(health.lastError ? { lastError: health.lastError } : {}),
          ...(health.parallel ? { parallel: health.parallel } : {}),
        }
      : { configured: false, reachable: null },
    queue: figures?.queue ?? { studies: 0, instances: 0, bytes: 0, failed: 0 },
    lastReceivedAt: figures?.lastReceivedAt ?? null,
    lastUploadedAt: figures?.lastUploadedAt ?? null,
    uploadMbps: live?.uploadMbps ?? 0,
    freeDiskBytes: sources.freeDiskBytes,
    database: figures ? { ok: true } : { ok: false, error: sources.databaseError },
    paused,
    logsDir: logsDir(config.dataDir),
    ...(figures ? { compression: { ...figures.compression, ...(live?.losslessDecision ? { lossless: live.losslessDecision } : {}) }, spool: figures.spool, uploads: figures.uploads } : {}),
    ...(config.hl7 ? { hl7: hl7Status(config.hl7.port, figures, live?.hl7) } : {}),
  };
}

function hl7Status(port: number, figures: StatusFigures | undefined, live: LiveFacts['hl7']): NonNullable<ApiStatus['hl7']> {
  const f = figures?.hl7;
  const lastError = live?.lastError ?? f?.reports.lastError ?? f?.messages.lastError;
  return {
    listening: live?.listening ?? false,
    port: live?.port ?? port,
    ...(f
      ? {
          messages: { received: f.messages.queued + f.messages.done + f.messages.failed, queued: f.messages.queued, delivered: f.messages.done, failed: f.messages.failed },
          reports: { queued: f.reports.queued, delivered: f.reports.done, failed: f.reports.failed },
        }
      : {}),
    ...(lastError ? { lastError } : {}),
  };
}

/** GET /api/status (and /metrics); never rejects: a database error is part of the answer. */
export async function readLiveStatus(view: AgentView, now = new Date()): Promise<ApiStatus> {
  const { config, uploader } = view;
  let figures: StatusFigures | undefined;
  let databaseError: string | undefined;
  try {
    figures = await readStatusFigures(view.pool, { hl7: config.hl7 !== undefined });
  } catch (err) {
    databaseError = errorMessage(err);
  }
  const live: LiveFacts = {
    receiver: {
      listening: view.receiver.listening(),
      port: view.receiver.port,
      ...(view.receiver.tlsPort ? { tlsPort: view.receiver.tlsPort } : {}),
      activeAssociations: view.receiver.openAssociations(),
    },
    upstreamHealth: uploader?.upstreamHealth() ?? { reachable: null },
    paused: uploader?.paused ?? false,
    uploadMbps: uploader ? uploadMbps(uploader.recentDeliveries(), now.getTime(), Date.parse(view.startedAt)) : 0,
    ...(view.hl7 ? { hl7: { listening: view.hl7.listener.listening(), port: view.hl7.listener.port, lastError: view.hl7.health().lastError } } : {}),
    ...(view.compressor ? { losslessDecision: view.compressor.losslessDecision().reason } : {}),
  };
  const free = await freeDiskBytes(config.dataDir).catch(() => null);
  return { ...composeStatus({ config, figures, databaseError, freeDiskBytes: free, agent: live, now }), startedAt: view.startedAt };
}

/** Payload megabits per second delivered in the last minute (or since the start, when that is sooner), two decimals. */
export function uploadMbps(deliveries: Array<{ at: number; bytes: number }>, now: number, startedAt: number): number {
  const windowMs = Math.max(1000, Math.min(UPLOAD_RATE_WINDOW_MS, now - startedAt));
  const bytes = deliveries.filter((d) => d.at > now - windowMs).reduce((sum, d) => sum + d.bytes, 0);
  return Math.round(((bytes * 8) / (windowMs / 1000) / 1e6) * 100) / 100;
}
