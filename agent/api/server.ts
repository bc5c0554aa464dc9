import http from 'node:http';
import type net from 'node:net';
import type { Logger } from '../logging';
import { authorizationMatches } from './token';

/** The API answers on the loopback address only: other computers, and other local addresses, get nothing. */
export const API_HOST = '127.0.0.1';
/** No endpoint takes a body of any size: a larger one is refused before it is read. */
const MAX_BODY_BYTES = 16 * 1024;

/** A refusal with its HTTP status; its message goes to the caller as { "error": message }. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface Reply {
  status?: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

export function jsonReply(value: unknown, status = 200): Reply {
  return { status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(value) };
}

export interface Route {
  method: 'GET' | 'POST';
  /** An exact path, or a pattern whose groups become params. */
  path: string | RegExp;
  /** Changes something or costs something: needs `Authorization: Bearer <token>` (the tray's token too, but for 'admin'). */
  needsToken: boolean | 'admin';
  handle(request: { params: string[]; query: URLSearchParams }): Promise<Reply> | Reply;
}

export interface ApiServer {
  port: number;
  close(): Promise<void>;
}

/**
 * The local API's HTTP server on 127.0.0.1. Before any route runs, a request must name this server in its Host
 * header (a DNS-rebinding page names its own host) and, when it carries an Origin, come from this server's own
 * pages (another site's script in the user's browser carries that site's origin). No CORS header is ever sent, so
 * browsers keep other origins from reading answers too.
 */
export async function startApiServer(options: { port: number; token: string; trayToken?: string; routes: Route[]; log: Logger }): Promise<ApiServer> {
  const { routes, token, trayToken, log } = options;
  let port = 0;
  const ownOrigins = () => [`http://${API_HOST}:${port}`, `http://localhost:${port}`];

  const serve = async (req: http.IncomingMessage): Promise<Reply> => {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!ownOrigins().some((origin) => origin === `http://${host}`))
      throw new HttpError(421, `this API answers only as ${API_HOST}:${port} or localhost:${port}, not as ${JSON.stringify(req.headers.host ?? '')}`);
    const origin = req.headers.origin;
    if (origin !== undefined && !ownOrigins().includes(origin)) throw new HttpError(403, `requests from pages of other origins are refused (Origin ${origin})`);

    // Appended, not resolved: '//other/x' stays a path here.
    if (!req.url?.startsWith('/')) throw new HttpError(400, 'the request target must be a path');
    const url = new URL(`http://${API_HOST}:${port}${req.url}`);
    const matching = routes.flatMap((route) => {
      const params = matchPath(route.path, url.pathname);
      return params ? [{ route, params }] : [];
    });
    if (matching.length === 0) throw new HttpError(404, `no such endpoint: ${url.pathname}`);
    const allow = matching.map((m) => m.route.method).join(', ');
    if (req.method === 'OPTIONS') return { status: 204, contentType: 'text/plain', body: '', headers: { Allow: allow } };
    const found = matching.find((m) => m.route.method === req.method);
    if (!found) throw new HttpError(405, `${req.method} is not allowed on ${url.pathname} (allowed: ${allow})`, { Allow: allow });

    await drainBody(req);
    const byTray = found.route.needsToken === true && trayToken !== undefined && authorizationMatches(req.headers.authorization, trayToken);
    if (found.route.needsToken && !byTray && !authorizationMatches(req.headers.authorization, token)) {
      throw new HttpError(401, 'this call needs the API token: send Authorization: Bearer <the token in the data folder file api-token>', { 'WWW-Authenticate': 'Bearer' });
    }
    return found.route.handle({ params: found.params, query: url.searchParams });
  };

  const server = http.createServer((req, res) => {
    serve(req).then(
      (reply) => send(res, reply.status ?? 200, reply.contentType, reply.body, reply.headers),
      (err: Error) => {
        if (err instanceof HttpError) {
          if (err.status === 421 || err.status === 403) log.warn('local API request refused', { status: err.status, host: req.headers.host, origin: req.headers.origin, path: req.url });
          // A body too large is left unread: the connection closes after the answer.
          const headers = err.status === 413 ? { ...err.headers, Connection: 'close' } : err.headers;
          send(res, err.status, 'application/json; charset=utf-8', JSON.stringify({ error: err.message }), headers);
        } else {
          log.error('local API request failed', { method: req.method, path: req.url, error: err.message });
          send(res, 500, 'application/json; charset=utf-8', JSON.stringify({ error: `internal error: ${err.message}` }));
        }
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EADDRINUSE' ? ' (another program uses this port: stop it or change api.port in the configuration)' : '';
      reject(new Error(`cannot listen for the local API on ${API_HOST}:${options.port}: ${err.message}${hint}`));
    });
    server.listen(options.port, API_HOST, () => resolve());
  });
  port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // Answers being written (POST /api/stop's among them) go out; idle keep-alive connections close now.
        const timer = setTimeout(() => server.closeAllConnections(), 2000);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

function matchPath(path: string | RegExp, pathname: string): string[] | undefined {
  if (typeof path === 'string') return path === pathname ? [] : undefined;
  const match = path.exec(pathname);
  return match ? match.slice(1) : undefined;
}

/** Reads and drops the body (no endpoint takes one), refusing one over MAX_BODY_BYTES without reading the rest. */
function drainBody(req: http.IncomingMessage): Promise<void> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) return Promise.reject(new HttpError(413, `request body too large (${declared} bytes; at most ${MAX_BODY_BYTES})`));
  return new Promise((resolve, reject) => {
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return;
      req.off('data', onData);
      req.pause();
      reject(new HttpError(413, `request body too large (more than ${MAX_BODY_BYTES} bytes)`));
    };
    req.on('data', onData);
    req.once('end', () => resolve());
    req.once('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    // The page has a pause button: no other site may frame it (clickjacking).
    'X-Frame-Options': 'DENY',
    'Content-Security-Policy': "default-src 'self'; frame-ancestors 'none'",
    'Referrer-Policy': 'no-referrer',
    ...headers,
  });
  res.end(body);
}
