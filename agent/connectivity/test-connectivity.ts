// `gateway test-connectivity [--json]`: can this computer reach the cloud PACS, and how fast does it upload?
// Steps in order — DNS, TCP (direct or through the CONNECT proxy), TLS handshake, the service itself (C-ECHO over
// DICOM-TLS, or an authenticated QIDO-RS request to the STOW-RS base), and the effective upload rate of recent
// transfers — each with pass / warn / fail / skipped, what was seen, and a plain fix hint. Never prints the token or
// the proxy password. Reusable: the tray and the local API call runConnectivityTest(config).
import dns from 'node:dns';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import pg from 'pg';
import { loadConfig, type GatewayConfig } from '../config/config';
import { defaultConfigPath } from '../config/paths';
import type { UpstreamConfig } from '../config/upstream-config';
import { databaseUrlFor } from '../db/database-url';
import { isDicomError } from '../dicom/dicom-error';
import { echo } from '../dicom/verification';
import { errorMessage } from '../errors';
import { describeAssociateReject, startTls } from '../upload/cloud-connection';
import { effectiveProxy, openTunnel, redactProxy, TunnelError } from '../upload/proxy-tunnel';
import { describeTlsFailure, tlsFailureKind } from '../upload/tls-failure';
import { upstreamTarget } from '../upload/upstream-target';
import { hl7Steps } from './hl7-connectivity';

export type StepStatus = 'pass' | 'warn' | 'fail' | 'skipped';

export interface ConnectivityStep {
  name: string;
  status: StepStatus;
  detail: string;
  hint?: string;
  ms: number;
}

export interface ConnectivityReport {
  /** What was tested: kind and target (never the token or the proxy password). */
  upstream?: { kind: UpstreamConfig['kind']; target: string; proxy?: string };
  steps: ConnectivityStep[];
  /** True when no step failed. */
  ok: boolean;
  /** The effective upload rate of recent transfers, when measured. */
  uploadMbps?: number;
}

export interface ConnectivityOptions {
  /** TCP connect / TLS handshake timeout (default 10 s). */
  connectTimeoutMs?: number;
  /** Waiting for the service's answer (default 15 s). */
  responseTimeoutMs?: number;
  /** The database to read recent transfers from (default databaseUrlFor(config)); null = do not look. */
  databaseUrl?: string | null;
}

export const MINIMUM_MBPS = 5;
export const RECOMMENDED_MBPS = 20;
const RATE_WINDOW_MINUTES = 15;
const EXPIRY_WARN_DAYS = 30;

const HINTS = {
  dns: "check the host name in the upstream settings and this computer's DNS server; if the cloud is only reachable through a proxy, set upstream.proxy or HTTPS_PROXY",
  proxyDns: "check the proxy host name in upstream.proxy / HTTPS_PROXY and this computer's DNS server",
  firewall: (port: number) =>
    `a firewall may block outbound port ${port}${port === 443 ? ' (HTTPS)' : ' (the DICOM-TLS port)'}: ask IT to allow this computer to reach the cloud, or set a proxy (upstream.proxy or HTTPS_PROXY) if one is required`,
  proxyAuth: 'the proxy wants a user and password: put them in upstream.proxy as http://user:password@proxy:port (ask IT for the account)',
  proxy: 'check the proxy address in upstream.proxy / HTTPS_PROXY, and ask IT to allow the cloud host and port through it',
  interception: 'a proxy or firewall is intercepting TLS (its CA issued the certificate): add that CA to upstream.caFile, or ask IT to exempt the cloud host from TLS inspection',
  expired: "the cloud's certificate has expired: the cloud provider must renew it (also check this computer's date and time)",
  hostMismatch: 'the certificate is for another host: check the host in the upstream settings, or a proxy is answering with its own certificate',
  clientCert: 'check upstream.certFile and upstream.keyFile: the client certificate the cloud issued, still valid',
  tls: 'check that the port speaks TLS, and upstream.caFile / certFile / keyFile',
  wrongAe: "check upstream.calledAeTitle (the cloud's AE title) and that the cloud knows this gateway's AE title",
  token: 'bad or expired token: put the current token from the cloud provider in upstream.token',
};

function ms(since: number): number {
  return Date.now() - since;
}

function hostOf(upstream: UpstreamConfig): { host: string; port: number } | undefined {
  if (upstream.kind === 'dicom-tls') return upstream.host && upstream.port ? { host: upstream.host, port: upstream.port } : undefined;
  if (!upstream.url) return undefined;
  try {
    const url = new URL(upstream.url);
    return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port === '' ? 443 : Number(url.port) };
  } catch {
    return undefined;
  }
}

/** Removes anything secret (the token, the proxy password) from a message. */
function redact(text: string, upstream: UpstreamConfig | undefined, proxy: string | undefined): string {
  let out = text;
  const secrets: string[] = [];
  if (upstream?.token) secrets.push(upstream.token);
  for (const p of [proxy, upstream?.proxy]) {
    if (!p) continue;
    try {
      const url = new URL(p);
      if (url.password) secrets.push(url.password, decodeURIComponent(url.password));
      secrets.push(p);
    } catch {
      // nothing to take out
    }
  }
  for (const secret of secrets.filter((s) => s.length >= 3).sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join(secret === proxy || secret === upstream?.proxy ? redactProxy(secret) : '***');
  }
  return out;
}

/** Runs every step against the configured upstream, then the HL7 ones when hl7 is configured; never throws (a step fails instead). */
export async function runConnectivityTest(config: GatewayConfig, options: ConnectivityOptions = {}): Promise<ConnectivityReport> {
  const report = await testUpstream(config, options);
  const hl7 = await hl7Steps(config, options.connectTimeoutMs ?? 10_000);
  if (hl7.length === 0) return report;
  report.steps.push(...hl7);
  report.ok = !report.steps.some((step) => step.status === 'fail');
  return report;
}

async function testUpstream(config: GatewayConfig, options: ConnectivityOptions): Promise<ConnectivityReport> {
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const responseTimeoutMs = options.responseTimeoutMs ?? 15_000;
  const steps: ConnectivityStep[] = [];
  const upstream = config.upstream;
  const target = upstream ? hostOf(upstream) : undefined;
  if (!upstream || !target) {
    steps.push({
      name: 'upstream',
      status: 'fail',
      detail: 'upstream not configured',
      hint: 'add an "upstream" section to the configuration (kind dicom-tls with host, port, calledAeTitle; or kind stow-rs with url and token)',
      ms: 0,
    });
    return { steps, ok: false };
  }
  const proxy = effectiveProxy(upstream.proxy, target);
  const report: ConnectivityReport = {
    upstream: { kind: upstream.kind, target: upstreamTarget(upstream), ...(proxy ? { proxy: redactProxy(proxy) } : {}) },
    steps,
    ok: false,
  };
  const add = (step: ConnectivityStep) => {
    step.detail = redact(step.detail, upstream, proxy);
    if (step.hint) step.hint = redact(step.hint, upstream, proxy);
    steps.push(step);
  };
  const skipRest = (names: string[], why: string) => {
    for (const name of names) add({ name, status: 'skipped', detail: why, ms: 0 });
  };
  const serviceName = upstream.kind === 'dicom-tls' ? 'C-ECHO' : 'HTTPS request';

  // --- DNS
  let started = Date.now();
  const dnsProblems: string[] = [];
  let dnsStatus: StepStatus = 'pass';
  let dnsHint: string | undefined;
  const resolved: string[] = [];
  let proxyUrl: URL | undefined;
  if (proxy) {
    try {
      proxyUrl = new URL(proxy);
    } catch {
      proxyUrl = undefined;
    }
  }
  const lookup = async (host: string) => {
    if (net.isIP(host)) return host;
    const answer = await dns.promises.lookup(host);
    return answer.address;
  };
  try {
    resolved.push(`${target.host} → ${await lookup(target.host)}`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? errorMessage(err);
    if (proxy) {
      dnsStatus = 'warn';
      dnsProblems.push(`${target.host} does not resolve here (${code}); the proxy may resolve it`);
      dnsHint = `if the next step fails, ${HINTS.dns}`;
    } else {
      dnsStatus = 'fail';
      dnsProblems.push(`${target.host} does not resolve (${code})`);
      dnsHint = HINTS.dns;
    }
  }
  if (proxy) {
    if (!proxyUrl) {
      dnsStatus = 'fail';
      dnsProblems.push(`proxy setting ${redactProxy(proxy)} is not a URL`);
      dnsHint = 'set upstream.proxy / HTTPS_PROXY to http://[user:password@]host:port';
    } else {
      const proxyHost = proxyUrl.hostname.replace(/^\[(.*)\]$/, '$1');
      try {
        resolved.push(`proxy ${proxyHost} → ${await lookup(proxyHost)}`);
      } catch (err) {
        dnsStatus = 'fail';
        dnsProblems.push(`proxy host ${proxyHost} does not resolve (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`);
        dnsHint = HINTS.proxyDns;
      }
    }
  }
  add({ name: 'DNS', status: dnsStatus, detail: [...resolved, ...dnsProblems].join('; '), ...(dnsHint ? { hint: dnsHint } : {}), ms: ms(started) });
  const later = ['TCP connect', 'TLS handshake', serviceName];
  if (dnsStatus === 'fail') {
    skipRest(later, 'skipped: DNS failed');
    return finish(report, await rateStep(config, options, add));
  }

  // --- TCP
  started = Date.now();
  let raw: net.Socket;
  const via = proxy ? ` through proxy ${redactProxy(proxy)}` : ' (direct)';
  try {
    raw = await openTunnel(target, upstream.proxy, connectTimeoutMs);
    add({ name: 'TCP connect', status: 'pass', detail: `connected to ${target.host}:${target.port}${via}`, ms: ms(started) });
  } catch (err) {
    const code = err instanceof TunnelError ? err.code : ((err as NodeJS.ErrnoException).code ?? '');
    let hint: string;
    if (code === 'EPROXYAUTH') hint = HINTS.proxyAuth;
    else if (proxy) hint = code === 'EPROXYUNREACHABLE' ? `${HINTS.proxy}; ${HINTS.firewall(target.port)}` : HINTS.proxy;
    else hint = HINTS.firewall(target.port);
    // Through a proxy, every failure openTunnel reports names the proxy.
    add({ name: 'TCP connect', status: 'fail', detail: errorMessage(err), hint, ms: ms(started) });
    skipRest(later.slice(1), 'skipped: no connection');
    return finish(report, await rateStep(config, options, add));
  }

  // --- TLS
  started = Date.now();
  let secure: tls.TLSSocket;
  try {
    secure = await startTls(raw, upstream, target, connectTimeoutMs);
    const cert = secure.getPeerCertificate(false);
    const subject = cnOf(cert?.subject);
    const issuer = cnOf(cert?.issuer);
    const validTo = cert?.valid_to ? new Date(cert.valid_to) : undefined;
    const days = validTo ? Math.floor((validTo.getTime() - Date.now()) / 86_400_000) : undefined;
    const detail = `${secure.getProtocol() ?? 'TLS'}; subject ${subject}, issuer ${issuer}, valid to ${validTo?.toISOString() ?? '?'} (${days ?? '?'} days left)`;
    if (days !== undefined && days < EXPIRY_WARN_DAYS) {
      add({ name: 'TLS handshake', status: 'warn', detail, hint: `the cloud's certificate expires in ${days} days: tell the cloud provider to renew it`, ms: ms(started) });
    } else {
      add({ name: 'TLS handshake', status: 'pass', detail, ms: ms(started) });
    }
  } catch (err) {
    raw.destroy();
    add({ name: 'TLS handshake', status: 'fail', detail: errorMessage(err), hint: tlsHint(err), ms: ms(started) });
    skipRest([serviceName], 'skipped: no TLS connection');
    return finish(report, await rateStep(config, options, add));
  }

  // --- Service
  started = Date.now();
  try {
    const result = upstream.kind === 'dicom-tls' ? await cEcho(secure, upstream, config.aeTitle, responseTimeoutMs) : await qido(secure, upstream, responseTimeoutMs);
    add({ name: serviceName, ...result, ms: ms(started) });
  } catch (err) {
    add({ name: serviceName, status: 'fail', detail: isDicomError(err) ? err.message : describeTlsFailure(err), hint: tlsHint(err), ms: ms(started) });
  } finally {
    secure.destroy();
  }

  return finish(report, await rateStep(config, options, add));
}

function finish(report: ConnectivityReport, uploadMbps: number | undefined): ConnectivityReport {
  if (uploadMbps !== undefined) report.uploadMbps = Math.round(uploadMbps * 10) / 10;
  report.ok = !report.steps.some((step) => step.status === 'fail');
  return report;
}

function cnOf(name: tls.Certificate | undefined): string {
  if (!name) return '?';
  const cn = Array.isArray(name.CN) ? name.CN.join(',') : name.CN;
  const o = Array.isArray(name.O) ? name.O.join(',') : name.O;
  return cn ? `CN=${cn}` : o ? `O=${o}` : '?';
}

/** The fix for a failed TLS handshake or a connection that broke, chosen by what failed (the TLS error is the cause). */
function tlsHint(err: unknown): string | undefined {
  if (isDicomError(err, 'config', 'timeout')) return HINTS.tls;
  switch (tlsFailureKind(isDicomError(err) && err.cause !== undefined ? err.cause : err)) {
    case 'unknown-issuer':
      return HINTS.interception;
    case 'expired':
      return HINTS.expired;
    case 'not-yet-valid':
      return "check this computer's date and time";
    case 'host-mismatch':
      return HINTS.hostMismatch;
    case 'client-certificate-required':
    case 'client-certificate-refused':
      return HINTS.clientCert;
    case 'network':
      return 'the connection broke: a firewall or proxy may be cutting it, or the server is restarting';
    default:
      return HINTS.tls;
  }
}

type ServiceResult = Omit<ConnectivityStep, 'name' | 'ms'>;

/** GET <url>/studies?limit=1 (QIDO-RS) over the open TLS connection, with the bearer token. */
function qido(socket: tls.TLSSocket, upstream: UpstreamConfig, timeoutMs: number): Promise<ServiceResult> {
  const url = new URL(`${upstream.url}/studies?limit=1`);
  const headers: http.OutgoingHttpHeaders = { Host: url.host, Accept: 'application/dicom+json', Connection: 'close' };
  if (upstream.token) headers.Authorization = `Bearer ${upstream.token}`;
  return new Promise((resolve, reject) => {
    const request = http.request({ method: 'GET', path: `${url.pathname}${url.search}`, headers, createConnection: () => socket });
    const timer = setTimeout(() => {
      request.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    request.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    request.on('response', (response) => {
      clearTimeout(timer);
      response.resume();
      const status = response.statusCode ?? 0;
      const what = `GET ${url.pathname}${url.search} answered HTTP ${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}`;
      const auth = upstream.token ? 'with the token' : upstream.certFile ? 'with the client certificate' : 'without credentials';
      if (status >= 200 && status < 300) resolve({ status: 'pass', detail: `${what}: reachable and authenticated (${auth})` });
      else if (status === 401 || status === 403) {
        resolve({
          status: 'fail',
          detail: `${what}: the cloud refused our credentials (${auth})`,
          hint: upstream.token || !upstream.certFile ? HINTS.token : `${HINTS.clientCert}; or the token is bad or expired`,
        });
      } else if (status === 404 || status === 405) {
        resolve({
          status: 'warn',
          detail: `${what}: the server answers, but does not offer QIDO-RS at that path, so the token could not be checked`,
          hint: 'check upstream.url (the STOW-RS base, without /studies); if it is right, this server simply has no search endpoint',
        });
      } else if (status >= 500) resolve({ status: 'fail', detail: `${what}: the cloud has a server error`, hint: 'the cloud service has a problem: try again later, or tell the cloud provider' });
      else resolve({ status: 'warn', detail: `${what}: unexpected answer`, hint: 'check upstream.url' });
    });
    request.end();
  });
}

/** An association proposing Verification, one C-ECHO, then release, over the open TLS connection. */
async function cEcho(socket: tls.TLSSocket, upstream: UpstreamConfig, callingAe: string, timeoutMs: number): Promise<ServiceResult> {
  const calledAe = upstream.calledAeTitle ?? '';
  try {
    await echo(socket, { calledAe, callingAe, timeoutMs }, { peer: 'the cloud', describeSocketError: describeTlsFailure });
    return { status: 'pass', detail: `association with ${calledAe} as ${callingAe} accepted, C-ECHO status 0x0000 (success), released` };
  } catch (err) {
    if (!isDicomError(err, 'rejected', 'refused-by-status', 'protocol')) throw err;
    if (err.reject) return { status: 'fail', detail: describeAssociateReject(err.reject, calledAe, callingAe), hint: HINTS.wrongAe };
    if (err.kind === 'rejected') return { status: 'fail', detail: err.message, hint: 'the cloud does not allow C-ECHO from this gateway: ask the cloud provider' };
    if (err.kind === 'refused-by-status') return { status: 'fail', detail: err.message, hint: 'the cloud refused the echo: ask the cloud provider whether this gateway is allowed' };
    return { status: 'fail', detail: err.message, hint: 'is that port a DICOM port?' };
  }
}

/** The effective upload rate of the deliveries in the last 15 minutes. */
async function rateStep(config: GatewayConfig, options: ConnectivityOptions, add: (step: ConnectivityStep) => void): Promise<number | undefined> {
  const name = 'upload rate';
  const started = Date.now();
  const url = options.databaseUrl === undefined ? databaseUrlFor(config) : (options.databaseUrl ?? undefined);
  if (!url) {
    add({ name, status: 'skipped', detail: 'skipped: the database is not reachable (the embedded database runs only while the agent runs)', ms: ms(started) });
    return undefined;
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ n: number; bytes: string; seconds: number | null }>(
      `SELECT count(*)::int AS n, coalesce(sum(i.file_bytes), 0)::bigint AS bytes,
              extract(epoch FROM max(u.delivered_at) - min(u.delivered_at))::float8 AS seconds
         FROM uploads u JOIN instances i USING (sop_instance_uid)
        WHERE u.state = 'done' AND u.delivered_at > now() - make_interval(mins => $1)`,
      [RATE_WINDOW_MINUTES],
    );
    const row = rows[0] as { n: number; bytes: string; seconds: number | null };
    const seconds = row.seconds ?? 0;
    if (row.n < 2 || seconds < 1) {
      add({
        name,
        status: 'skipped',
        detail: `skipped: no recent uploads (${row.n} delivered in the last ${RATE_WINDOW_MINUTES} minutes${row.n >= 2 ? ', within less than 1 s' : ''})`,
        ms: ms(started),
      });
      return undefined;
    }
    const bytes = Number(row.bytes);
    const mbps = (bytes * 8) / seconds / 1e6;
    const shown = Math.round(mbps * 10) / 10;
    const detail = `${shown} Mbps: ${row.n} instances, ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s (last ${RATE_WINDOW_MINUTES} minutes)`;
    const limit = config.upload.maxMbps > 0 ? ` (upload.maxMbps caps it at ${config.upload.maxMbps} Mbps)` : '';
    if (mbps >= RECOMMENDED_MBPS) add({ name, status: 'pass', detail, ms: ms(started) });
    else if (mbps >= MINIMUM_MBPS)
      add({ name, status: 'warn', detail: `${detail}: below the recommended ${RECOMMENDED_MBPS} Mbps`, hint: `a faster uplink, or a higher upload.maxMbps / schedule limit${limit}`, ms: ms(started) });
    else
      add({
        name,
        status: 'fail',
        detail: `${detail}: below the ${MINIMUM_MBPS} Mbps minimum`,
        hint: `the uplink is too slow for the studies to arrive in time: check the line, the proxy, and upload.maxMbps / schedule${limit}`,
        ms: ms(started),
      });
    return mbps;
  } catch (err) {
    add({ name, status: 'skipped', detail: `skipped: the database is not reachable (${errorMessage(err)})`, ms: ms(started) });
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The report as a table with hints (what `gateway test-connectivity` prints). */
export function formatConnectivityReport(report: ConnectivityReport): string {
  const lines: string[] = [];
  if (report.upstream) lines.push(`Upstream  ${report.upstream.kind} ${report.upstream.target}${report.upstream.proxy ? ` via proxy ${report.upstream.proxy}` : ''}`, '');
  const width = Math.max(...report.steps.map((s) => s.name.length), 4);
  for (const step of report.steps) {
    lines.push(`${step.status.toUpperCase().padEnd(7)} ${step.name.padEnd(width)}  ${step.detail}${step.status === 'skipped' ? '' : ` (${step.ms} ms)`}`);
    if (step.hint) lines.push(`${''.padEnd(8 + width)}  fix: ${step.hint}`);
  }
  lines.push('', report.ok ? 'Connectivity OK' : 'Connectivity FAILED');
  return lines.join('\n');
}

/** `gateway test-connectivity` (its options parsed by the CLI): 0 when no step failed, 1 otherwise. */
export async function testConnectivityCommand(values: { config?: string; json?: boolean }): Promise<number> {
  const config = loadConfig(values.config ?? defaultConfigPath());
  const report = await runConnectivityTest(config);
  console.log(values.json ? JSON.stringify(report, null, 2) : formatConnectivityReport(report));
  return report.ok ? 0 : 1;
}
