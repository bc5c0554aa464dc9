import path from 'node:path';
import { aeTitleProblem } from './ae-title';
import { ConfigError } from './config-error';
import { boolean, integer, object, only, optionalObject, string } from './validate';

/** The cloud PACS and how to reach it. */
export interface UpstreamConfig {
  kind: 'dicom-tls' | 'stow-rs';
  /** DICOM-TLS peer. */
  host?: string;
  port?: number;
  calledAeTitle?: string;
  /** STOW-RS base URL (https://...); instances are POSTed to <url>/studies. */
  url?: string;
  /** PEM files: the CA that signs the cloud's certificate (else the system's), our client certificate and key. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Bearer token for STOW-RS. */
  token?: string;
  /** http://[user:password@]host:port of an HTTP CONNECT proxy; else HTTPS_PROXY from the environment. */
  proxy?: string;
  /** Ask the DICOM peer for Storage Commitment (when it accepts the SOP class). */
  storageCommitment: boolean;
}

/** How the queue is worked. */
export interface UploadConfig {
  /** Parallel associations (DICOM-TLS) or requests (STOW-RS). */
  workers: number;
  batchMaxInstances: number;
  batchMaxBytes: number;
  /** 0 = unlimited. */
  maxMbps: number;
  /** Windows when another rate applies, e.g. weekdays 07:00-19:00 at 10 Mbps. First match wins. */
  schedule: Array<{ days: number[]; from: string; to: string; maxMbps: number }>;
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  /** A claimed instance not finished within this long is claimed again by any agent. */
  leaseSeconds: number;
  /** Storage Commitment: instances without a report this long after the request are sent again (and re-requested). */
  commitTimeoutSeconds: number;
  /** While the cloud is unreachable, one check (TLS + C-ECHO, or an authenticated request) this often; uploads resume when it answers. */
  outageProbeSeconds: number;
  /** Higher first; a study takes the highest priority of its series' modalities. */
  priorities: Array<{ modality: string; priority: number }>;
}

export interface StudiesConfig {
  seriesQuietSeconds: number;
  studyQuietSeconds: number;
  /** A study still receiving after this long is completed anyway. */
  forceCompleteMinutes: number;
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const DAY_GROUPS: Record<string, number[]> = { weekdays: [1, 2, 3, 4, 5], weekend: [0, 6], all: [0, 1, 2, 3, 4, 5, 6] };

export function parseUpstream(value: unknown, baseDir: string): UpstreamConfig | undefined {
  if (value === undefined) return undefined;
  const raw = object(value, 'upstream');
  only(raw, 'upstream.', ['kind', 'host', 'port', 'calledAeTitle', 'url', 'caFile', 'certFile', 'keyFile', 'token', 'proxy', 'storageCommitment']);
  const file = (key: string) => (raw[key] === undefined ? undefined : path.resolve(baseDir, string(raw[key], `upstream.${key}`)));
  const kind = raw.kind;
  if (kind !== 'dicom-tls' && kind !== 'stow-rs') throw new ConfigError(`upstream.kind must be dicom-tls or stow-rs (got ${JSON.stringify(kind)})`);
  const upstream: UpstreamConfig = {
    kind,
    caFile: file('caFile'),
    certFile: file('certFile'),
    keyFile: file('keyFile'),
    token: raw.token === undefined ? undefined : string(raw.token, 'upstream.token'),
    proxy: raw.proxy === undefined ? undefined : proxyUrl(raw.proxy),
    storageCommitment: boolean(raw.storageCommitment ?? true, 'upstream.storageCommitment'),
  };
  if ((upstream.certFile === undefined) !== (upstream.keyFile === undefined)) throw new ConfigError('upstream.certFile and upstream.keyFile go together');
  if (kind === 'dicom-tls') {
    upstream.host = string(raw.host, 'upstream.host');
    upstream.port = integer(raw.port, 'upstream.port', 1, 65535);
    upstream.calledAeTitle = string(raw.calledAeTitle, 'upstream.calledAeTitle');
    const problem = aeTitleProblem(upstream.calledAeTitle);
    if (problem) throw new ConfigError(`upstream.calledAeTitle ${JSON.stringify(upstream.calledAeTitle)} ${problem}`);
  } else {
    const url = string(raw.url, 'upstream.url');
    if (!/^https:\/\//.test(url)) throw new ConfigError('upstream.url must be an https:// URL (the STOW-RS base)');
    upstream.url = url.replace(/\/+$/, '');
  }
  return upstream;
}

export function parseUpload(value: unknown): UploadConfig {
  const raw = optionalObject(value, 'upload');
  only(raw, 'upload.', [
    'workers',
    'batchMaxInstances',
    'batchMaxBytes',
    'maxMbps',
    'schedule',
    'retryBaseSeconds',
    'retryMaxSeconds',
    'leaseSeconds',
    'commitTimeoutSeconds',
    'outageProbeSeconds',
    'priorities',
  ]);
  const schedule = raw.schedule === undefined ? [] : raw.schedule;
  if (!Array.isArray(schedule)) throw new ConfigError('upload.schedule must be a list');
  const priorities = raw.priorities === undefined ? [] : raw.priorities;
  if (!Array.isArray(priorities)) throw new ConfigError('upload.priorities must be a list');
  return {
    workers: integer(raw.workers ?? 4, 'upload.workers', 1, 64),
    batchMaxInstances: integer(raw.batchMaxInstances ?? 100, 'upload.batchMaxInstances', 1, 100000),
    batchMaxBytes: integer(raw.batchMaxBytes ?? 1024 ** 3, 'upload.batchMaxBytes', 1024 * 1024, 1024 ** 3),
    maxMbps: number(raw.maxMbps ?? 0, 'upload.maxMbps'),
    schedule: schedule.map((entry: unknown, i: number) => {
      const key = `upload.schedule[${i}]`;
      const window = object(entry, key);
      only(window, `${key}.`, ['days', 'from', 'to', 'maxMbps']);
      return { days: days(window.days ?? 'all', `${key}.days`), from: clock(window.from, `${key}.from`), to: clock(window.to, `${key}.to`), maxMbps: number(window.maxMbps, `${key}.maxMbps`) };
    }),
    retryBaseSeconds: integer(raw.retryBaseSeconds ?? 5, 'upload.retryBaseSeconds', 1, 3600),
    retryMaxSeconds: integer(raw.retryMaxSeconds ?? 900, 'upload.retryMaxSeconds', 1, 86400),
    leaseSeconds: integer(raw.leaseSeconds ?? 300, 'upload.leaseSeconds', 10, 86400),
    commitTimeoutSeconds: integer(raw.commitTimeoutSeconds ?? 600, 'upload.commitTimeoutSeconds', 5, 7 * 86400),
    outageProbeSeconds: integer(raw.outageProbeSeconds ?? 15, 'upload.outageProbeSeconds', 1, 600),
    priorities: priorities.map((entry: unknown, i: number) => {
      const rule = object(entry, `upload.priorities[${i}]`);
      only(rule, `upload.priorities[${i}].`, ['modality', 'priority']);
      return { modality: string(rule.modality, `upload.priorities[${i}].modality`), priority: integer(rule.priority, `upload.priorities[${i}].priority`, -1000, 1000) };
    }),
  };
}

export function parseStudies(value: unknown): StudiesConfig {
  const raw = optionalObject(value, 'studies');
  only(raw, 'studies.', ['seriesQuietSeconds', 'studyQuietSeconds', 'forceCompleteMinutes']);
  return {
    seriesQuietSeconds: integer(raw.seriesQuietSeconds ?? 60, 'studies.seriesQuietSeconds', 1, 86400),
    studyQuietSeconds: integer(raw.studyQuietSeconds ?? 180, 'studies.studyQuietSeconds', 1, 86400),
    forceCompleteMinutes: integer(raw.forceCompleteMinutes ?? 240, 'studies.forceCompleteMinutes', 1, 10080),
  };
}

function number(value: unknown, key: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new ConfigError(`${key} must be a number of 0 or more (0 = unlimited)`);
  return value;
}

function clock(value: unknown, key: string): string {
  if (typeof value !== 'string' || !/^([01]\d|2[0-3]):[0-5]\d$/.test(value)) throw new ConfigError(`${key} must be a time like 07:00`);
  return value;
}

function days(value: unknown, key: string): number[] {
  const names = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(names)) throw new ConfigError(`${key} must be weekdays, weekend, all, or a list of mon..sun`);
  return [
    ...new Set(
      names.flatMap((name: unknown) => {
        if (typeof name === 'string' && DAY_GROUPS[name]) return DAY_GROUPS[name];
        const day = typeof name === 'string' ? DAYS.indexOf(name.toLowerCase().slice(0, 3)) : -1;
        if (day < 0) throw new ConfigError(`${key}: ${JSON.stringify(name)} is not a day (mon..sun, weekdays, weekend, all)`);
        return [day];
      }),
    ),
  ].sort();
}

function proxyUrl(value: unknown): string {
  const text = string(value, 'upstream.proxy');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError('upstream.proxy must be a URL like http://user:password@proxy:3128');
  }
  if (url.protocol !== 'http:') throw new ConfigError('upstream.proxy must be an http:// proxy (HTTP CONNECT)');
  return text;
}
