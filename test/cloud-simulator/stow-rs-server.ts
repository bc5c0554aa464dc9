// The cloud simulator's STOW-RS endpoint: HTTPS (test PKI), POST <base>/studies with multipart/related
// application/dicom parts; every part is kept in storeDir as <SOP Instance UID>.dcm, byte for byte as received,
// and the answer is a DICOM JSON dataset (ReferencedSOPSequence / FailedSOPSequence) as PS3.18 describes.
// Faults can be set at start or changed between requests through `sim.settings`.
import fs from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import type tls from 'node:tls';
import { parsePart10Meta } from '../fixtures/part10';
import type { CloudPki } from './pki';
import { readThrottled } from './throttle';

/** Which certificate the server presents. */
export type ServerCertificate = 'good' | 'wrong-host' | 'expired' | 'unknown-ca';

export type StowFault =
  /** TLS connections are closed as soon as they are accepted. */
  | { kind: 'close-on-connect' }
  /** The TCP connection is reset (RST) once this many body bytes have arrived. */
  | { kind: 'reset-after-bytes'; bytes: number }
  /** Every request is answered with this status (after reading the body). */
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** The body is read and no answer ever comes. */
  | { kind: 'hang' }
  /** Parts are stored but the answer lists none of them (200 with an empty dataset). */
  | { kind: 'forget-confirmations' };

export interface StowSettings {
  fault?: StowFault;
  /** Requests without `Authorization: Bearer <token>` get 401. */
  token?: string;
  /** Reads request bodies no faster than this (0/undefined = unlimited). */
  throttleMbps?: number;
  /** Instances answered with FailedSOPSequence and this FailureReason (not stored). */
  failInstances?: Map<string, number>;
  /** Parts in other transfer syntaxes are answered with FailureReason 0xC122 (transfer syntax not supported). */
  acceptedTransferSyntaxes?: string[];
  /** How a request whose instances are all already stored is answered: 409 listing them (0x0111) or 409 with no body. */
  conflictBody?: 'per-instance' | 'empty';
  /** A POST that comes while this many are in progress is answered 429 with Retry-After: 1 (a cloud's rate limit). */
  maxConcurrentPosts?: number;
}

export interface StowRsSimulatorOptions extends StowSettings {
  pki: CloudPki;
  storeDir: string;
  certificate?: ServerCertificate;
  requireClientCertificate?: boolean;
  /**
   * How a client certificate the CA did not sign is refused: 'close' (Node's way: the connection is closed after
   * the handshake without an alert) or 'http-403' (nginx's way: the request is answered 403). A missing certificate
   * is always refused by OpenSSL with the 'certificate required' alert.
   */
  untrustedClientCertificate?: 'close' | 'http-403';
  /** Path of the STOW-RS base (default /dicom-web). */
  basePath?: string;
}

export interface ReceivedRequest {
  method: string;
  url: string;
  authorization?: string;
  contentType?: string;
  clientCertificateSubject?: string;
  bodyBytes: number;
  parts: number;
  /** The SOP Instance UID of each part, as posted ('' when a part has none). */
  sopInstanceUids: string[];
  status: number;
  /** When the request arrived (Date.now()). */
  at: number;
}

export interface StowRsSimulator {
  /** The STOW-RS base URL (upstream.url): https://localhost:<port>/dicom-web. */
  url: string;
  port: number;
  storeDir: string;
  settings: StowSettings;
  requests: ReceivedRequest[];
  /** TLS connections accepted (keep-alive check). */
  connections: number;
  storedPath(sopInstanceUid: string): string;
  stop(): Promise<void>;
}

const DUPLICATE = 0x0111;

export function serverCertificate(pki: CloudPki, which: ServerCertificate): { cert: Buffer; key: Buffer } {
  const [cert, key] = {
    good: [pki.serverCertFile, pki.serverKeyFile],
    'wrong-host': [pki.wrongHostCertFile, pki.wrongHostKeyFile],
    expired: [pki.expiredCertFile, pki.expiredKeyFile],
    'unknown-ca': [pki.rogueServerCertFile, pki.rogueServerKeyFile],
  }[which];
  return { cert: fs.readFileSync(cert), key: fs.readFileSync(key) };
}

export async function startStowRsSimulator(options: StowRsOptionsInput): Promise<StowRsSimulator> {
  const { pki, storeDir, certificate = 'good', requireClientCertificate = false, untrustedClientCertificate = 'close', basePath = '/dicom-web', ...settings } = options;
  const answer403 = requireClientCertificate && untrustedClientCertificate === 'http-403';
  fs.mkdirSync(storeDir, { recursive: true });
  const sim: StowRsSimulator = {
    url: '',
    port: 0,
    storeDir,
    settings,
    requests: [],
    connections: 0,
    storedPath: (uid) => path.join(storeDir, `${uid}.dcm`),
    stop: async () => {},
  };
  const sockets = new Set<net.Socket>();
  const server = https.createServer(
    {
      ...serverCertificate(pki, certificate),
      ca: [fs.readFileSync(pki.caFile)],
      requestCert: requireClientCertificate,
      rejectUnauthorized: requireClientCertificate && !answer403,
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      handle(req, res).catch((err: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`simulator error: ${err.message}`);
      });
    },
  );
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    sim.connections++;
    if (sim.settings.fault?.kind === 'close-on-connect') socket.destroy();
  });
  server.on('tlsClientError', () => {});

  let postsInProgress = 0;
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const s = sim.settings;
    const record: ReceivedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      clientCertificateSubject: (req.socket as tls.TLSSocket).getPeerCertificate?.()?.subject?.CN as string | undefined,
      bodyBytes: 0,
      parts: 0,
      sopInstanceUids: [],
      status: 0,
      at: Date.now(),
    };
    sim.requests.push(record);
    const answer = (status: number, body: string | object | undefined, headers: http.OutgoingHttpHeaders = {}) => {
      record.status = status;
      const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
      const type = typeof body === 'object' ? 'application/dicom+json' : 'text/plain';
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text), ...headers }).end(text);
    };
    if (answer403 && !(req.socket as tls.TLSSocket).authorized) {
      req.resume();
      return answer(403, 'The SSL certificate error');
    }
    if (s.token !== undefined && req.headers.authorization !== `Bearer ${s.token}`) {
      req.resume();
      return answer(401, 'invalid token', { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
    // A minimal QIDO-RS search (the connectivity test's authenticated request): no studies.
    if (req.method === 'GET' && (req.url ?? '').split('?')[0] === `${basePath}/studies`) {
      req.resume();
      if (s.fault?.kind === 'status') return answer(s.fault.status, `simulated ${s.fault.status}`, s.fault.headers);
      return answer(200, []);
    }
    if (req.method !== 'POST' || req.url !== `${basePath}/studies`) {
      req.resume();
      return answer(404, 'not found');
    }
    const boundary = /boundary="?([^";]+)"?/i.exec(req.headers['content-type'] ?? '')?.[1];
    if (!/^multipart\/related/i.test(req.headers['content-type'] ?? '') || !boundary) {
      req.resume();
      return answer(415, 'expected multipart/related; type="application/dicom"');
    }
    if (s.maxConcurrentPosts !== undefined && postsInProgress >= s.maxConcurrentPosts) {
      req.resume();
      await new Promise((resolve) => req.once('end', resolve));
      return answer(429, 'too many concurrent requests', { 'Retry-After': '1' });
    }
    postsInProgress++;
    res.once('close', () => postsInProgress--);
    const chunks: Buffer[] = [];
    const fault = s.fault;
    await readThrottled(
      req,
      () => s.throttleMbps ?? 0,
      (chunk) => {
        record.bodyBytes += chunk.length;
        chunks.push(chunk);
        if (fault?.kind === 'reset-after-bytes' && record.bodyBytes >= fault.bytes && !req.socket.destroyed) resetConnection(req.socket as tls.TLSSocket);
      },
    );
    if (req.socket.destroyed || !req.complete) return;
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'status') return answer(fault.status, fault.body ?? `simulated ${fault.status}`, fault.headers);

    const parts = splitMultipart(Buffer.concat(chunks), boundary);
    record.parts = parts.length;
    const referenced: object[] = [];
    const failed: object[] = [];
    let conflicts = 0;
    for (const part of parts) {
      const meta = parsePart10Meta(part);
      const uid = meta?.mediaStorageSopInstanceUid;
      const sopClass = meta?.mediaStorageSopClassUid ?? '';
      record.sopInstanceUids.push(uid ?? '');
      if (!uid) {
        failed.push(item('', sopClass, 0xc000));
        continue;
      }
      const refusedSyntax = s.acceptedTransferSyntaxes && !s.acceptedTransferSyntaxes.includes(meta?.transferSyntaxUid ?? '');
      const reason = refusedSyntax ? 0xc122 : s.failInstances?.get(uid);
      if (reason !== undefined) {
        failed.push(item(uid, sopClass, reason));
      } else if (fs.existsSync(sim.storedPath(uid))) {
        conflicts++;
        failed.push(item(uid, sopClass, DUPLICATE));
      } else {
        fs.writeFileSync(sim.storedPath(uid), part);
        referenced.push({ ...item(uid, sopClass), '00081190': { vr: 'UR', Value: [`${sim.url}/studies/x/series/x/instances/${uid}`] } });
      }
    }
    if (fault?.kind === 'forget-confirmations') return answer(200, {});
    if (referenced.length === 0 && conflicts > 0 && conflicts === parts.length && s.conflictBody === 'empty') return answer(409, undefined);
    const body: Record<string, unknown> = { '00081190': { vr: 'UR', Value: [`${sim.url}/studies`] } };
    if (referenced.length > 0) body['00081199'] = { vr: 'SQ', Value: referenced };
    if (failed.length > 0) body['00081198'] = { vr: 'SQ', Value: failed };
    const status = failed.length === 0 ? 200 : referenced.length === 0 ? 409 : 202;
    return answer(status, body);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sim.port = (server.address() as net.AddressInfo).port;
  sim.url = `https://localhost:${sim.port}${basePath}`;
  sim.stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return sim;
}

type StowRsOptionsInput = StowRsSimulatorOptions;

/** A TCP reset (RST) of the connection under a TLS socket, as a firewall or a crashing server does. */
export function resetConnection(socket: tls.TLSSocket): void {
  // The TCP socket the TLS socket was made from (Node keeps it as _parent); reset it, not the TLS layer.
  const tcp = (socket as unknown as { _parent?: net.Socket })._parent;
  if (tcp && typeof tcp.resetAndDestroy === 'function') {
    try {
      tcp.resetAndDestroy();
      socket.destroy();
      return;
    } catch {
      // fall through
    }
  }
  socket.destroy();
}

function item(uid: string, sopClass: string, failureReason?: number): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    '00081150': { vr: 'UI', Value: [sopClass] },
    '00081155': { vr: 'UI', Value: [uid] },
  };
  if (failureReason !== undefined) entry['00081197'] = { vr: 'US', Value: [failureReason] };
  return entry;
}

/** The parts of a multipart body, without their headers. */
export function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const parts: Buffer[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const afterDelimiter = at + delimiter.length;
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString('latin1') === '--') break;
    const headersEnd = body.indexOf('\r\n\r\n', afterDelimiter);
    if (headersEnd < 0) break;
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`, 'latin1'), headersEnd + 4);
    if (next < 0) break;
    parts.push(body.subarray(headersEnd + 4, next));
    at = next + 2;
  }
  return parts;
}
