import type http from 'node:http';
import https from 'node:https';
import { createCloudHttpsAgent } from '../upload/cloud-https-agent';
import { TunnelError } from '../upload/proxy-tunnel';
import { describeTlsFailure } from '../upload/tls-failure';
import type { Hl7Cloud } from './hl7-config';
import { ianaCharset } from './message';

/** The media type of HL7 v2 over HTTP (ER7, the pipe-delimited encoding). */
export const HL7_CONTENT_TYPE = 'x-application/hl7-v2+er7';
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** What the cloud said of a message: delivered, or why not and whether trying again can help. */
export type PostOutcome = { delivered: true } | { delivered: false; error: string; permanent: boolean };

export interface Hl7CloudClient {
  /** POST <hl7.url> with the message as the body. Never rejects. */
  postMessage(body: Buffer, characterSet: string | undefined): Promise<PostOutcome>;
  /** GET <hl7.url>/outbox?wait=<s>: the messages the cloud has for the EMR (long poll). Rejects with the reason. */
  fetchOutbox(waitSeconds: number): Promise<Array<{ id: string; body: Buffer }>>;
  /** DELETE <hl7.url>/outbox/<id>: the EMR acknowledged it (404: the cloud had already forgotten it). Rejects with the reason. */
  confirm(id: string): Promise<void>;
  /** The endpoint for people: the URL without user or password. */
  readonly target: string;
  close(): void;
}

/** HL7 over HTTPS to the cloud, with the uploads' proxy, TLS verification, client certificate and bearer token. */
export function createHl7CloudClient(cloud: Hl7Cloud, timeoutMs = 60_000): Hl7CloudClient {
  const base = new URL(cloud.url);
  const host = base.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = base.port === '' ? 443 : Number(base.port);
  const agent = createCloudHttpsAgent(cloud, { host, port }, timeoutMs);
  const where = `${host}:${port}`;
  const basePath = base.pathname.replace(/\/+$/, '');
  const targetUrl = new URL(base);
  targetUrl.username = '';
  targetUrl.password = '';

  const request = (
    method: string,
    path: string,
    body: Buffer | undefined,
    headers: http.OutgoingHttpHeaders,
    waitMs = 0,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const all: http.OutgoingHttpHeaders = { 'User-Agent': 'dicom-cloud-gateway', ...headers };
      if (cloud.token) all.Authorization = `Bearer ${cloud.token}`;
      if (body) all['Content-Length'] = body.length;
      const req = https.request({ protocol: 'https:', host, port, method, path, headers: all, agent });
      req.setTimeout(timeoutMs + waitMs, () => req.destroy(Object.assign(new Error(`no answer from ${where} within ${Math.round((timeoutMs + waitMs) / 1000)} s`), { code: 'ETIMEDOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(err instanceof TunnelError ? `HL7 over HTTPS: ${err.message}` : `HL7 over HTTPS to ${where}: ${err.code === 'ETIMEDOUT' ? err.message : describeTlsFailure(err)}`)),
      );
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
          else req.destroy(new Error(`the answer from ${where} is larger than ${MAX_RESPONSE_BYTES} bytes`));
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.end(body);
    });

  const failure = (status: number, body: Buffer, what: string): string => {
    const text = body.toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 200);
    const hint = status === 401 || status === 403 ? ' — check hl7.token (or upstream.token) and the client certificate' : status === 404 || (status >= 300 && status < 400) ? ' — check hl7.url' : '';
    return `the cloud refused ${what} (HTTP ${status})${hint}${text ? `: ${text}` : ''}`;
  };

  return {
    target: targetUrl.toString(),
    async postMessage(body, characterSet) {
      try {
        const res = await request('POST', `${basePath}${base.search}`, body, { 'Content-Type': `${HL7_CONTENT_TYPE}; charset=${ianaCharset(characterSet)}`, Accept: '*/*' });
        if (res.status >= 200 && res.status < 300) return { delivered: true };
        // The cloud says this message will never be taken; anything else (its state, our configuration) may change.
        const permanent = [400, 413, 415, 422].includes(res.status);
        return { delivered: false, error: failure(res.status, res.body, 'the message'), permanent };
      } catch (err) {
        return { delivered: false, error: (err as Error).message, permanent: false };
      }
    },
    async fetchOutbox(waitSeconds) {
      const res = await request('GET', `${basePath}/outbox?wait=${waitSeconds}`, undefined, { Accept: 'application/json' }, waitSeconds * 1000);
      if (res.status === 204) return [];
      if (res.status !== 200) throw new Error(failure(res.status, res.body, 'the request for reports'));
      let parsed: unknown;
      try {
        parsed = JSON.parse(res.body.toString('utf8'));
      } catch {
        throw new Error(`the cloud's outbox answer is not JSON (HTTP ${res.status})`);
      }
      const messages = (parsed as { messages?: unknown }).messages;
      if (!Array.isArray(messages)) throw new Error("the cloud's outbox answer has no messages list");
      return messages.map((m: { id?: unknown; message?: unknown }, i) => {
        if (typeof m?.id !== 'string' || m.id === '' || typeof m.message !== 'string') throw new Error(`the cloud's outbox answer: messages[${i}] needs a string id and a base64 message`);
        return { id: m.id, body: Buffer.from(m.message, 'base64') };
      });
    },
    async confirm(id) {
      const res = await request('DELETE', `${basePath}/outbox/${encodeURIComponent(id)}`, undefined, {});
      if ((res.status < 200 || res.status >= 300) && res.status !== 404) throw new Error(failure(res.status, res.body, `the acknowledgement of report ${id}`));
    },
    close: () => agent.destroy(),
  };
}
