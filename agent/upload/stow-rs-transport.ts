import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type http from 'node:http';
import type { UpstreamConfig } from '../config/upstream-config';
import { createCloudHttpsAgent } from './cloud-https-agent';
import { TunnelError } from './proxy-tunnel';
import { describeTlsFailure } from './tls-failure';
import { readAhead, SOCKET_IN_FLIGHT_BYTES, type BatchOutcome, type OutgoingInstance, type Pacer, type Transport } from './transport';

export interface StowRsOptions {
  /** No request body is larger than this (an instance larger on its own goes alone). */
  batchMaxBytes: number;
  /** The longest silence while sending or waiting for the answer (default 120 s); connecting and the TLS handshake get at most 30 s. */
  timeoutMs?: number;
  /** Bytes per write, each paced by the bandwidth limit (default 1 MiB: fewer, larger writes cost the sender a quarter less CPU than 64 KiB ones). */
  chunkBytes?: number;
}

const TAG_REFERENCED_SOP_SEQUENCE = '00081199';
const TAG_FAILED_SOP_SEQUENCE = '00081198';
const TAG_REFERENCED_SOP_INSTANCE_UID = '00081155';
const TAG_FAILURE_REASON = '00081197';
const DUPLICATE_SOP_INSTANCE = 0x0111;
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

type Failure = BatchOutcome['failed'][number];

/**
 * DICOMweb STOW-RS over HTTPS: POST <url>/studies, multipart/related; type="application/dicom", each part a spool
 * file as it is on disk (the whole Part 10 file), streamed chunk by chunk under the pacer with backpressure.
 * Connections are kept alive and reused; through the HTTP CONNECT proxy when one is configured.
 */
/** STOW-RS FailureReason: Referenced Transfer Syntax not supported (PS3.18). */
const TRANSFER_SYNTAX_NOT_SUPPORTED = 0xc122;

function* slices(data: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

export function createStowRsTransport(upstream: UpstreamConfig, pacer: Pacer, options: StowRsOptions): Transport {
  if (!upstream.url) throw new Error('STOW-RS transport needs upstream.url');
  const base = new URL(upstream.url);
  if (base.protocol !== 'https:') throw new Error('upstream.url must be https://');
  const host = base.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = base.port === '' ? 443 : Number(base.port);
  const studiesUrl = new URL(`${base.pathname.replace(/\/+$/, '')}/studies`, base);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const chunkBytes = options.chunkBytes ?? 1024 * 1024;
  const where = `${host}:${port}`;

  const agent = createCloudHttpsAgent(upstream, { host, port }, timeoutMs);

  async function sendOne(batch: OutgoingInstance[]): Promise<BatchOutcome> {
    const outcome: BatchOutcome = { delivered: [], failed: [] };
    const parts: Array<{ instance: OutgoingInstance; size: number }> = [];
    for (const instance of batch) {
      try {
        const stat = await fs.promises.stat(instance.filePath);
        if (!stat.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
        parts.push({ instance, size: stat.size });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        outcome.failed.push({ instance, permanent: code === 'ENOENT', error: `spool file ${instance.spoolPath} cannot be read: ${(err as Error).message}` });
      }
    }
    if (parts.length === 0) return outcome;
    for (const group of splitBySize(parts, options.batchMaxBytes)) {
      // Once the cloud did not answer, the rest of the batch waits with it rather than knocking again.
      const result: BatchOutcome = outcome.unreachable ? { delivered: [], failed: group.map(({ instance }) => ({ instance, error: outcome.unreachable!, permanent: false })) } : await post(group);
      outcome.delivered.push(...result.delivered);
      outcome.failed.push(...result.failed);
      outcome.unreachable ??= result.unreachable;
      outcome.noRoom ||= result.noRoom;
      outcome.retryAfterMs ??= result.retryAfterMs;
    }
    return outcome;
  }

  function splitBySize(parts: Array<{ instance: OutgoingInstance; size: number }>, maxBytes: number) {
    const groups: Array<typeof parts> = [];
    let current: typeof parts = [];
    let bytes = 0;
    for (const part of parts) {
      const cost = part.size + 200; // part headers and boundary
      if (current.length > 0 && bytes + cost > maxBytes) {
        groups.push(current);
        current = [];
        bytes = 0;
      }
      current.push(part);
      bytes += cost;
    }
    if (current.length > 0) groups.push(current);
    return groups;
  }

  function post(parts: Array<{ instance: OutgoingInstance; size: number }>, retried = false): Promise<BatchOutcome> {
    const instances = parts.map((p) => p.instance);
    const boundary = `gateway-${crypto.randomBytes(16).toString('hex')}`;
    const heads = parts.map((_, i) => Buffer.from(`${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`, 'latin1'));
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
    const contentLength = heads.reduce((n, h) => n + h.length, 0) + parts.reduce((n, p) => n + p.size, 0) + tail.length;
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
      'Content-Length': contentLength,
      Accept: 'application/dicom+json',
      'User-Agent': 'dicom-cloud-gateway',
    };
    if (upstream.token) headers.Authorization = `Bearer ${upstream.token}`;

    return new Promise<BatchOutcome>((resolve) => {
      let finished = false;
      let responded = false;
      const finish = (outcome: BatchOutcome) => {
        if (finished) return;
        finished = true;
        resolve(outcome);
      };
      // No answer at all: the cloud is unreachable, not these instances' problem.
      const allTransient = (error: string): BatchOutcome => ({ delivered: [], failed: instances.map((instance) => ({ instance, error, permanent: false })), unreachable: error });

      const req = https.request({
        protocol: 'https:',
        host,
        port,
        method: 'POST',
        path: `${studiesUrl.pathname}${studiesUrl.search}`,
        headers,
        agent,
      });
      req.setTimeout(timeoutMs, () => {
        req.destroy(Object.assign(new Error(`no answer from ${where} within ${Math.round(timeoutMs / 1000)} s`), { code: 'ETIMEDOUT' }));
      });
      const describeError = (err: unknown) => {
        const text = describeNetworkError(err);
        const code = (err as NodeJS.ErrnoException | undefined)?.code;
        // A server that refuses our client certificate after the handshake (TLS 1.3) may just close.
        return code === 'ECONNRESET' && upstream.certFile && !req.reusedSocket ? `${text} — a server that refuses the client certificate can close like this: check upstream.certFile/keyFile` : text;
      };
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (responded || finished) return;
        // A kept-alive connection the server closed while idle: try once more on a fresh one.
        if (req.reusedSocket && !retried && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
          finished = true;
          // post() never rejects: every failure is an outcome.
          void post(parts, true).then(resolve);
          return;
        }
        finish(allTransient(err instanceof TunnelError ? `STOW-RS: ${err.message}` : `STOW-RS to ${where}: ${describeError(err)}`));
      });
      req.on('close', () => {
        // Node reports errors before 'close'; this only guards against a request ending without either.
        if (!responded) finish(allTransient(`STOW-RS to ${where}: the connection closed without an answer`));
      });
      req.on('response', (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
        });
        res.on('error', (err) => finish(allTransient(`STOW-RS to ${where}: the answer was cut off: ${describeError(err)}`)));
        res.on('close', () => {
          if (!res.complete) finish(allTransient(`STOW-RS to ${where}: the answer was cut off (connection closed)`));
        });
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          finish(interpret(res.statusCode ?? 0, res.statusMessage ?? '', res.headers, body, instances, { clientCertificate: upstream.certFile !== undefined }));
          // An answer before the whole body was sent leaves the connection unusable: close it.
          if (!req.writableFinished) req.destroy();
        });
      });

      const write = async () => {
        const canContinue = () => !finished && !responded && !req.destroyed;
        const put = async (chunk: Buffer) => {
          await pacer.take(chunk.length);
          if (!canContinue()) return false;
          if (!req.write(chunk) && req.writableLength > SOCKET_IN_FLIGHT_BYTES) {
            await new Promise<void>((ok) => {
              const done = () => {
                req.off('drain', done);
                req.off('close', done);
                ok();
              };
              req.on('drain', done);
              req.on('close', done);
            });
          }
          return canContinue();
        };
        // Small files are read whole, the next one while this one is sent, which keeps the link busier than a read
        // stream per file (test/bench/upload (c)); larger files are streamed.
        let ahead = readAhead(parts[0]?.instance);
        for (const [i, part] of parts.entries()) {
          const whole = ahead;
          ahead = readAhead(parts[i + 1]?.instance);
          if (!(await put(heads[i]))) return;
          let stream: fs.ReadStream | undefined;
          let sent = 0;
          try {
            const chunks = whole ? slices(await whole, chunkBytes) : (stream = fs.createReadStream(part.instance.filePath, { highWaterMark: chunkBytes }));
            for await (const chunk of chunks as AsyncIterable<Buffer>) {
              sent += chunk.length;
              if (sent > part.size) throw new Error(`spool file ${part.instance.spoolPath} grew while it was being sent`);
              if (!(await put(chunk))) {
                stream?.destroy();
                return;
              }
            }
          } catch (err) {
            stream?.destroy();
            req.destroy(Object.assign(new Error(`reading spool file ${part.instance.spoolPath}: ${(err as Error).message}`), { code: 'ESPOOLREAD' }));
            return;
          }
          if (sent !== part.size) {
            req.destroy(Object.assign(new Error(`spool file ${part.instance.spoolPath} changed size while it was being sent`), { code: 'ESPOOLREAD' }));
            return;
          }
        }
        if (!(await put(tail))) return;
        req.end();
      };
      write().catch((err: Error) => req.destroy(err));
    });
  }

  /**
   * Instances the cloud refused for their (compressed) transfer syntax go once more as received; the outcome still
   * names the instance as claimed.
   */
  async function sendFallingBackToReceived(batch: OutgoingInstance[]): Promise<BatchOutcome> {
    const outcome = await sendOne(batch);
    const retry = outcome.failed.filter((f) => f.transferSyntaxRefused && f.instance.asReceived);
    if (retry.length === 0) return outcome;
    const again = await sendOne(retry.map((f) => f.instance.asReceived!));
    const claimed = new Map(retry.map((f) => [f.instance.asReceived!, f.instance]));
    return {
      unreachable: outcome.unreachable ?? again.unreachable,
      noRoom: outcome.noRoom || again.noRoom,
      retryAfterMs: outcome.retryAfterMs ?? again.retryAfterMs,
      delivered: [...outcome.delivered, ...again.delivered.map((instance) => claimed.get(instance)!)],
      failed: [...outcome.failed.filter((f) => !retry.includes(f)), ...again.failed.map((f) => ({ ...f, instance: claimed.get(f.instance)! }))],
    };
  }

  return {
    async send(batch: OutgoingInstance[]): Promise<BatchOutcome> {
      if (batch.length === 0) return { delivered: [], failed: [] };
      try {
        return await sendFallingBackToReceived(batch);
      } catch (err) {
        // send() never rejects: anything unexpected is a transient failure of the whole batch.
        return { delivered: [], failed: batch.map((instance) => ({ instance, error: `STOW-RS: ${describeNetworkError(err)}`, permanent: false })) };
      }
    },
    probe(): Promise<void> {
      // A search for one study, authenticated like the uploads: any answer but 408/429/5xx means the cloud is back
      // (a 401 or 404 is then reported by the uploads themselves, per request, with its fix).
      const searchUrl = new URL(`${base.pathname.replace(/\/+$/, '')}/studies?limit=1`, base);
      const headers: http.OutgoingHttpHeaders = { Accept: 'application/dicom+json', 'User-Agent': 'dicom-cloud-gateway' };
      if (upstream.token) headers.Authorization = `Bearer ${upstream.token}`;
      return new Promise<void>((resolve, reject) => {
        const req = https.request({ protocol: 'https:', host, port, method: 'GET', path: `${searchUrl.pathname}${searchUrl.search}`, headers, agent });
        req.setTimeout(Math.min(timeoutMs, 30_000), () => req.destroy(Object.assign(new Error(`no answer from ${where}`), { code: 'ETIMEDOUT' })));
        req.on('error', (err) => reject(new Error(err instanceof TunnelError ? `STOW-RS: ${err.message}` : `STOW-RS to ${where}: ${describeNetworkError(err)}`)));
        req.on('response', (res) => {
          res.resume();
          const status = res.statusCode ?? 0;
          if (isCloudUnavailable(status)) reject(new Error(`the cloud is busy or failing (HTTP ${status})`));
          else resolve();
        });
        req.end();
      });
    },
    async close(): Promise<void> {
      agent.destroy();
    },
  };
}

/** HTTP Retry-After (seconds, or a date) in milliseconds from now; undefined when absent or unreadable. */
function retryAfterMs(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Answers that say the cloud as a whole cannot take requests now. */
function isCloudUnavailable(httpStatus: number): boolean {
  return httpStatus === 408 || httpStatus === 429 || httpStatus >= 500;
}

function describeNetworkError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ESPOOLREAD' || code === 'ETIMEDOUT') return (err as Error).message;
  return describeTlsFailure(err);
}

/** What the answer says of each instance of the request. */
export function interpret(
  status: number,
  statusMessage: string,
  headers: http.IncomingHttpHeaders,
  body: Buffer,
  instances: OutgoingInstance[],
  context: { clientCertificate?: boolean } = {},
): BatchOutcome {
  const outcome: BatchOutcome = { delivered: [], failed: [] };
  const httpStatus = `HTTP ${status}${statusMessage ? ` ${statusMessage}` : ''}`;
  const all = (error: string, permanent = false) => {
    outcome.failed.push(...instances.map((instance) => ({ instance, error, permanent })));
    return outcome;
  };
  if (status === 401 || status === 403) {
    const certificate = status === 403 && context.clientCertificate ? ', or client certificate refused — check upstream.certFile/keyFile' : '';
    return all(`bad or expired token: the cloud refused the request (${httpStatus}) — check upstream.token${certificate}`);
  }
  if (status >= 300 && status < 400) {
    return all(`the cloud redirected the request (${httpStatus}${headers.location ? ` to ${headers.location}` : ''}) — set upstream.url to the STOW-RS base address itself`);
  }
  if (status === 404) return all(`no STOW-RS service at this address (${httpStatus}) — check upstream.url (instances are POSTed to <url>/studies)`);
  if (status === 413) {
    const single = instances.length === 1;
    return all(`the cloud refused the request as too large (${httpStatus})${single ? ': this instance alone is larger than the server accepts' : ' — lower upload.batchMaxBytes'}`, single);
  }
  if (isCloudUnavailable(status)) {
    const retryAfter = headers['retry-after'] ? `, retry after ${headers['retry-after']}` : '';
    outcome.unreachable = `the cloud is busy or failing (${httpStatus}${retryAfter})`;
    const waitMs = retryAfterMs(headers['retry-after']);
    if ((status === 429 || status === 503) && waitMs !== undefined) Object.assign(outcome, { noRoom: true, retryAfterMs: waitMs });
    return all(outcome.unreachable);
  }

  const parsed = parseDicomJson(headers['content-type'], body);
  const referenced = new Set<string>();
  const failedReasons = new Map<string, number | undefined>();
  if (parsed) {
    for (const item of sequence(parsed, TAG_REFERENCED_SOP_SEQUENCE)) {
      const uid = firstString(item, TAG_REFERENCED_SOP_INSTANCE_UID);
      // Stored, possibly with a WarningReason (coercion): delivered either way.
      if (uid) referenced.add(uid);
    }
    for (const item of sequence(parsed, TAG_FAILED_SOP_SEQUENCE)) {
      const uid = firstString(item, TAG_REFERENCED_SOP_INSTANCE_UID);
      if (uid) failedReasons.set(uid, firstNumber(item, TAG_FAILURE_REASON));
    }
  }
  const mentionsAny = referenced.size > 0 || failedReasons.size > 0;
  // "Already there" confirms an instance, unless it is the first attempt of a correction: then the cloud holds the
  // earlier version and did not take this one (a retry of the same version may meet its own earlier success).
  const alreadyThere = (instance: OutgoingInstance) => {
    if (instance.corrected && instance.attempts <= 1) {
      outcome.failed.push({
        instance,
        error: `the cloud already holds an earlier version of this corrected instance and did not replace it (${httpStatus}) — ask the cloud provider to replace or delete it, then \`gateway retry\``,
        permanent: true,
      });
    } else {
      outcome.delivered.push(instance);
    }
  };
  if (status === 409 && !mentionsAny) {
    // The whole request conflicts and the answer says no more: the instances are already there.
    instances.forEach(alreadyThere);
    return outcome;
  }
  if (status < 200 || (status >= 300 && status !== 409)) {
    // 400, 415, 422 ...: per instance when the answer says which, else the whole request, transient
    // (a configuration problem must not send instances to the failed state).
    if (!mentionsAny && status === 415) {
      outcome.failed.push(
        ...instances.map((instance) => ({ instance, error: `the cloud does not accept this content (${httpStatus})${bodyHint(body)}`, permanent: false, transferSyntaxRefused: true })),
      );
      return outcome;
    }
    if (!mentionsAny) return all(`the cloud refused the request (${httpStatus})${bodyHint(body)}`);
  }
  for (const instance of instances) {
    const uid = instance.sopInstanceUid;
    if (failedReasons.has(uid)) {
      const reason = failedReasons.get(uid);
      if (reason === DUPLICATE_SOP_INSTANCE) {
        alreadyThere(instance);
        continue;
      }
      outcome.failed.push(classifyFailure(instance, reason, httpStatus));
    } else if (referenced.has(uid)) {
      outcome.delivered.push(instance);
    } else {
      outcome.failed.push({ instance, error: `not confirmed by the server (${httpStatus}: the answer does not list this instance)`, permanent: false });
    }
  }
  return outcome;
}

function classifyFailure(instance: OutgoingInstance, reason: number | undefined, httpStatus: string): Failure {
  const hex = reason === undefined ? 'no reason given' : `FailureReason 0x${reason.toString(16).toUpperCase().padStart(4, '0')}`;
  if (reason === undefined) return { instance, error: `the cloud did not store this instance (${hex}, ${httpStatus})`, permanent: false };
  if (reason === 0x0110) return { instance, error: `the cloud failed to process this instance (${hex}: processing failure), will retry`, permanent: false };
  if (reason >= 0xa700 && reason <= 0xa7ff) return { instance, error: `the cloud is out of resources (${hex}), will retry`, permanent: false };
  if (reason >= 0xa900 && reason <= 0xa9ff) return { instance, error: `the cloud refused this instance: data set does not match its SOP class (${hex})`, permanent: true };
  if (reason === TRANSFER_SYNTAX_NOT_SUPPORTED)
    return {
      instance,
      error: `the cloud does not accept transfer syntax ${instance.transferSyntaxUid} (${hex}): add a compression rule that keeps this data as received`,
      permanent: true,
      transferSyntaxRefused: true,
    };
  if (reason >= 0xc000 && reason <= 0xcfff) return { instance, error: `the cloud refused this instance: cannot understand it (${hex})`, permanent: true };
  if (reason === 0x0122) return { instance, error: `the cloud refused this instance: SOP class not supported (${hex})`, permanent: true };
  if (reason === 0x0117) return { instance, error: `the cloud refused this instance: invalid object instance (${hex})`, permanent: true };
  if (reason === 0x0124) return { instance, error: `the cloud refused this instance: not authorized (${hex}) — check the account's permissions`, permanent: false };
  return { instance, error: `the cloud did not store this instance (${hex}, ${httpStatus})`, permanent: false };
}

type DicomJsonDataset = Record<string, { vr?: string; Value?: unknown[] } | undefined>;

function parseDicomJson(contentType: string | undefined, body: Buffer): DicomJsonDataset | undefined {
  if (body.length === 0) return undefined;
  const text = body.toString('utf8').trim();
  if (!(text.startsWith('{') || text.startsWith('['))) {
    if (/xml/i.test(contentType ?? '') || text.startsWith('<')) return parseDicomXml(text);
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(text);
    const dataset = Array.isArray(value) ? value[0] : value;
    return dataset && typeof dataset === 'object' ? (dataset as DicomJsonDataset) : undefined;
  } catch {
    return undefined;
  }
}

/** The little of the native DICOM XML model (PS3.19) needed here, for a server that answers XML anyway. */
function parseDicomXml(text: string): DicomJsonDataset | undefined {
  const result: DicomJsonDataset = {};
  for (const tag of [TAG_REFERENCED_SOP_SEQUENCE, TAG_FAILED_SOP_SEQUENCE]) {
    const start = text.search(new RegExp(`<DicomAttribute[^>]*tag="${tag}"`, 'i'));
    if (start < 0) continue;
    const next = tag === TAG_REFERENCED_SOP_SEQUENCE ? TAG_FAILED_SOP_SEQUENCE : TAG_REFERENCED_SOP_SEQUENCE;
    const stop = text.slice(start + 1).search(new RegExp(`<DicomAttribute[^>]*tag="(${next}|00081190)"[^>]*vr="(SQ|UR)"`, 'i'));
    const section = stop < 0 ? text.slice(start) : text.slice(start, start + 1 + stop);
    const items = section.split(/<Item\b/i).slice(1);
    const values = items.map((item) => {
      const uid = new RegExp(`tag="${TAG_REFERENCED_SOP_INSTANCE_UID}"[^>]*>\\s*<Value[^>]*>([^<]*)<`, 'i').exec(item)?.[1]?.trim();
      const reason = new RegExp(`tag="${TAG_FAILURE_REASON}"[^>]*>\\s*<Value[^>]*>([^<]*)<`, 'i').exec(item)?.[1]?.trim();
      const entry: DicomJsonDataset = {};
      if (uid) entry[TAG_REFERENCED_SOP_INSTANCE_UID] = { vr: 'UI', Value: [uid] };
      if (reason) entry[TAG_FAILURE_REASON] = { vr: 'US', Value: [Number(reason)] };
      return entry;
    });
    result[tag] = { vr: 'SQ', Value: values };
  }
  return Object.keys(result).length > 0 ? result : undefined;
}

function sequence(dataset: DicomJsonDataset, tag: string): DicomJsonDataset[] {
  const element = dataset[tag] ?? dataset[tag.toLowerCase()];
  const items = element?.Value;
  return Array.isArray(items) ? (items.filter((item) => item && typeof item === 'object') as DicomJsonDataset[]) : [];
}

function firstString(dataset: DicomJsonDataset, tag: string): string | undefined {
  const value = (dataset[tag] ?? dataset[tag.toLowerCase()])?.Value?.[0];
  return typeof value === 'string' ? value.trim().replace(/\0+$/, '') : undefined;
}

function firstNumber(dataset: DicomJsonDataset, tag: string): number | undefined {
  const value = (dataset[tag] ?? dataset[tag.toLowerCase()])?.Value?.[0];
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function bodyHint(body: Buffer): string {
  const text = body.toString('utf8').replace(/\s+/g, ' ').trim();
  return text ? `: ${text.slice(0, 200)}` : '';
}
