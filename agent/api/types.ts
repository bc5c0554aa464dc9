/**
 * The local API's contract: what the agent serves on 127.0.0.1:<api.port> and what the tray,
 * the status page and Get-DicomGatewayStatus read. The tray imports only this file and the client.
 */

/** Default `api.port` (the PowerShell module assumes the same). */
export const DEFAULT_API_PORT = 4180;

/** The token file in the data folder: mutating calls send it as `Authorization: Bearer <token>`. */
export const API_TOKEN_FILE = 'api-token';

/** <dataDir>/tray: the tray's own token (API_TOKEN_FILE) and the port the API listens on, for interactive users. */
export const TRAY_ACCESS_DIR = 'tray';
export const API_PORT_FILE = 'api-port';
/** Every token the agent makes: 32 random bytes, hex. */
export const API_TOKEN_PATTERN = /^[0-9a-f]{64}$/;

export type OverallState = 'green' | 'amber' | 'red';

export interface StatusReason {
  /** Stable machine code, e.g. 'upstream-unreachable', 'uploads-failed', 'disk-low', 'paused'. */
  code: string;
  state: OverallState;
  /** One plain sentence for staff ("The cloud has not answered for 12 minutes"). */
  message: string;
}

/** GET /api/status */
export interface ApiStatus {
  state: OverallState;
  /** Every reason the state is not green (empty when green). */
  reasons: StatusReason[];
  version: string;
  aeTitle: string;
  startedAt: string;
  receiver: { listening: boolean; port: number; tlsPort?: number; activeAssociations: number };
  upstream: {
    configured: boolean;
    kind?: 'dicom-tls' | 'stow-rs';
    /** host:port or URL, never a token. */
    target?: string;
    /** False after consecutive transport failures; null when nothing was tried yet. */
    reachable: boolean | null;
    /** Since when it has been unreachable (ISO time), when it is. */
    unreachableSince?: string;
    /** While unreachable: when the next check of the cloud is due (ISO time). */
    nextCheckAt?: string;
    lastError?: string;
    /** Parallel connections in use while the cloud has no room for upload.workers of them. */
    parallel?: { current: number; max: number; lastRefusal?: string };
  };
  queue: { studies: number; instances: number; bytes: number; failed: number };
  lastReceivedAt: string | null;
  lastUploadedAt: string | null;
  /** Payload megabits per second delivered over the last minutes (0 when idle). */
  uploadMbps: number;
  freeDiskBytes: number | null;
  database: { ok: boolean; error?: string };
  paused: boolean;
  /** Compression decisions so far (absent when the database is down): compressed, sent as received, waiting. */
  compression?: {
    compressed: number;
    keptAsReceived: number;
    pending: number;
    /** received / compressed bytes of the compressed ones (0 when none) */
    ratio: number;
    /** The running agent's decision for lossless rules now, with its figures: "on: ..." or "skipped: ..." (compress when it pays). */
    lossless?: string;
  };
  /** Path of the logs folder, for the tray's "Open logs folder". */
  logsDir: string;
  /** What the spool holds (absent when the database is down). */
  spool?: {
    studies: number;
    instances: number;
    bytes: number;
    /** Indexed instances whose file is gone (startup recovery finds them): the sender must resend them. */
    missingFiles: number;
    /** Instances a resend with different bytes replaced. */
    corrections: number;
    /** C-STOREs kept over the database's life (counted when their association ends). */
    instancesReceivedTotal: number;
  };
  /** The HL7 v2 interface (absent when hl7 is not configured). */
  hl7?: {
    listening: boolean;
    port: number;
    /** Messages from the RIS/EMR (absent when the database is down): received and kept, waiting for the cloud, delivered, refused by it. */
    messages?: { received: number; queued: number; delivered: number; failed: number };
    /** Reports from the cloud to the EMR (absent when the database is down): waiting, acknowledged by the EMR, refused by it. */
    reports?: { queued: number; delivered: number; failed: number };
    lastError?: string;
  };
  /** Every instance's upload by state (absent when the database is down); `queue` above is what is still to send. */
  uploads?: {
    queued: number;
    sending: number;
    /** Stored by the cloud, waiting for its Storage Commitment report. */
    awaitingCommitment: number;
    failed: number;
    /** Confirmed by the cloud. */
    delivered: number;
    bytesDelivered: number;
    /** Studies whose every instance the cloud confirmed. */
    studiesDone: number;
  };
}

export type StudyState = 'receiving' | 'queued' | 'uploading' | 'failed' | 'done';

export interface ApiStudy {
  studyUid: string;
  modality: string | null;
  instancesReceived: number;
  instancesUploaded: number;
  instancesFailed: number;
  bytes: number;
  bytesUploaded: number;
  state: StudyState;
  firstReceivedAt: string;
  lastReceivedAt: string;
  completedAt: string | null;
  doneAt: string | null;
  /** When retention removed the study's files from the local disk (the counts are then its receipt's). */
  purgedAt: string | null;
  /** Only with ?patient=1 (never by default). */
  patientName?: string;
}

/** GET /api/studies?limit=&offset= */
export interface ApiStudiesPage {
  studies: ApiStudy[];
  total: number;
  limit: number;
  offset: number;
}

export type ConnectivityStepStatus = 'pass' | 'warn' | 'fail' | 'skipped';

/** POST /api/connectivity-test (same shape as `gateway test-connectivity --json`). */
export interface ApiConnectivityReport {
  upstream?: { kind: 'dicom-tls' | 'stow-rs'; target: string; proxy?: string };
  steps: Array<{ name: string; status: ConnectivityStepStatus; detail: string; hint?: string; ms: number }>;
  ok: boolean;
  uploadMbps?: number;
}

/** POST /api/check-this-pc: the PowerShell module's checks, run by the agent through node-powershell. */
export interface ApiThisPcReport {
  available: boolean;
  results: Array<{ Name: string; Status: 'Pass' | 'Warn' | 'Fail' | 'NotApplicable'; Detail: string; Requirement: string }>;
  message?: string;
}

/** POST /api/uploads/pause and /api/uploads/resume. Pausing lasts until resumed or the agent restarts. */
export interface ApiUploadsState {
  paused: boolean;
}

/** POST /api/studies/{uid}/retry: the study's failed instances queued again (0 when none had failed). */
export interface ApiRetryResult {
  studyUid: string;
  requeued: number;
}

/** POST /api/stop (202): the agent is stopping in order; its process `pid` exits once the database has stopped. */
export interface ApiStopReply {
  stopping: true;
  pid: number;
}

/**
 * The status page's address. A token goes in the fragment, which the browser never sends to the server (nor into
 * logs or Referer); the page moves it to sessionStorage and out of the address bar.
 */
export function statusPageUrl(port: number, token?: string): string {
  return `http://127.0.0.1:${port}/${token ? `#token=${token}` : ''}`;
}

/** Every error answer: 4xx/5xx with this body. */
export interface ApiError {
  error: string;
}

/**
 * Sizes as people read them, in decimal units (1 MB = 1,000,000 bytes, as disks are sold): `gateway status`, the tray
 * and the status page all show this (it lives in the contract so the tray may use it). The status page gets this
 * same function's source (see routes.ts).
 */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
