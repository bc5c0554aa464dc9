// The cloud simulator's HL7 endpoint (the contract in README, "HL7 v2 interface"): HTTPS with the test PKI.
//   POST <base>            an HL7 v2 message from the hospital, Content-Type x-application/hl7-v2+er7; charset=...
//   GET  <base>/outbox     ?wait=<s>: {"messages":[{"id","message":<base64>}]} of reports not yet acknowledged,
//                          held open up to <s> seconds while there are none (then 204)
//   DELETE <base>/outbox/<id>  the hospital's EMR acknowledged the report (AA): it leaves the outbox
// Faults (changeable between requests): a status for every POST, or for the POST of certain control IDs.
import type http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { CloudPki } from './pki';
import { serverCertificate } from './stow-rs-server';

export interface Hl7EndpointSettings {
  /** Requests without `Authorization: Bearer <token>` get 401. */
  token?: string;
  /** Every POST is answered with this status (the message is not kept). */
  postStatus?: number;
  /** POSTs of messages with these MSH-10 control IDs are answered with the status given. */
  refuseControlIds?: Map<string, number>;
}

export interface ReceivedHl7 {
  body: Buffer;
  contentType?: string;
  authorization?: string;
  controlId: string;
  status: number;
}

export interface Hl7Endpoint {
  /** hl7.url: https://localhost:<port>/hl7 */
  url: string;
  settings: Hl7EndpointSettings;
  /** Every POST, in the order they came, with the answer given. */
  posts: ReceivedHl7[];
  /** Messages kept (2xx), in order. */
  kept(): ReceivedHl7[];
  /** Puts a report in the outbox for the hospital; resolves its id. */
  addReport(message: Buffer): string;
  /** Reports the gateway acknowledged (DELETE), in order. */
  confirmed: string[];
  /** Reports still in the outbox. */
  outbox: Map<string, Buffer>;
  /** GET /outbox requests served. */
  polls: number;
  stop(): Promise<void>;
}

export async function startHl7Endpoint(options: { pki: CloudPki } & Hl7EndpointSettings): Promise<Hl7Endpoint> {
  const { pki, ...settings } = options;
  const basePath = '/hl7';
  let nextId = 1;
  const waiters = new Set<() => void>();
  const sockets = new Set<net.Socket>();
  const endpoint: Hl7Endpoint = {
    url: '',
    settings,
    posts: [],
    kept: () => endpoint.posts.filter((p) => p.status >= 200 && p.status < 300),
    addReport(message) {
      const id = `r-${nextId++}`;
      endpoint.outbox.set(id, message);
      for (const wake of [...waiters]) wake();
      return id;
    },
    confirmed: [],
    outbox: new Map(),
    polls: 0,
    stop: async () => {},
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (endpoint.settings.token && req.headers.authorization !== `Bearer ${endpoint.settings.token}`) {
      res.writeHead(401, { 'Content-Type': 'text/plain' }).end('bad token');
      return;
    }
    const url = new URL(req.url ?? '/', 'https://localhost');
    if (req.method === 'POST' && url.pathname === basePath) {
      const controlId = body.toString('latin1').split('\r')[0].split('|')[9] ?? '';
      const status = endpoint.settings.refuseControlIds?.get(controlId) ?? endpoint.settings.postStatus ?? 202;
      endpoint.posts.push({ body, contentType: req.headers['content-type'], authorization: req.headers.authorization, controlId, status });
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status < 300 ? '' : `refused with ${status}`);
      return;
    }
    if (req.method === 'GET' && url.pathname === `${basePath}/outbox`) {
      endpoint.polls++;
      const waitMs = Number(url.searchParams.get('wait') ?? 0) * 1000;
      if (endpoint.outbox.size === 0 && waitMs > 0) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            waiters.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, waitMs);
          waiters.add(wake);
          req.socket.once('close', wake);
        });
      }
      if (endpoint.outbox.size === 0) {
        res.writeHead(204).end();
        return;
      }
      const messages = [...endpoint.outbox].map(([id, message]) => ({ id, message: message.toString('base64') }));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ messages }));
      return;
    }
    const outboxItem = new RegExp(`^${basePath}/outbox/([^/]+)$`).exec(url.pathname);
    if (req.method === 'DELETE' && outboxItem) {
      const id = decodeURIComponent(outboxItem[1]);
      const known = endpoint.outbox.delete(id);
      endpoint.confirmed.push(id);
      res.writeHead(known ? 204 : 404).end();
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no such endpoint');
  };

  const server = https.createServer({ ...serverCertificate(pki, 'good'), minVersion: 'TLSv1.2' }, (req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500).end(err.message);
    });
  });
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint.url = `https://localhost:${(server.address() as net.AddressInfo).port}${basePath}`;
  endpoint.stop = async () => {
    for (const wake of [...waiters]) wake();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return endpoint;
}
