import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { errorMessage } from '../errors';
import { API_TOKEN_FILE, type ApiConnectivityReport, type ApiError, type ApiStatus, type ApiStopReply, type ApiStudiesPage, type ApiThisPcReport, type ApiUploadsState } from './types';

/** Why a call to the agent's local API failed, so callers can say what to do about it. */
export type AgentApiFailure =
  /** Nothing listens on the port: the agent is not running (or still starting). */
  | 'not-running'
  | 'timeout'
  /** The token file exists but this user may not read it (the tray runs as a user who is not an administrator). */
  | 'token-unreadable'
  /** No token file: the agent has never started with this data folder. */
  | 'token-missing'
  /** The agent refused the token (401/403). */
  | 'unauthorized'
  /** Any other error answer, or an answer that is not JSON. */
  | 'failed';

export class AgentApiError extends Error {
  constructor(
    message: string,
    readonly failure: AgentApiFailure,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AgentApiError';
  }
}

export interface AgentApiClientOptions {
  /** http://127.0.0.1:<api.port> */
  baseUrl: string;
  /** Where the agent keeps its token file (<dataDir>/api-token). */
  dataDir: string;
  /** For quick reads (status, studies); default 3 s. */
  timeoutMs?: number;
  /** For the long-running checks (connectivity test, Check this PC); default 120 s. */
  longTimeoutMs?: number;
}

/** The agent's local API over HTTP, typed by agent/api/types.ts. The only way the tray talks to the agent. */
export class AgentApiClient {
  readonly baseUrl: string;
  private readonly dataDir: string;
  private readonly timeoutMs: number;
  private readonly longTimeoutMs: number;

  constructor(options: AgentApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.dataDir = options.dataDir;
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.longTimeoutMs = options.longTimeoutMs ?? 120_000;
  }

  status(): Promise<ApiStatus> {
    return this.call('GET', '/api/status', this.timeoutMs, false);
  }

  studies(limit = 50, offset = 0): Promise<ApiStudiesPage> {
    return this.call('GET', `/api/studies?limit=${limit}&offset=${offset}`, this.timeoutMs, true);
  }

  pauseUploads(): Promise<ApiUploadsState> {
    return this.call('POST', '/api/uploads/pause', this.timeoutMs, true);
  }

  resumeUploads(): Promise<ApiUploadsState> {
    return this.call('POST', '/api/uploads/resume', this.timeoutMs, true);
  }

  /** Asks for an orderly stop; the answer comes at once, the process exits once its database has stopped. */
  stopAgent(): Promise<ApiStopReply> {
    return this.call('POST', '/api/stop', this.timeoutMs, true);
  }

  testConnectivity(): Promise<ApiConnectivityReport> {
    return this.call('POST', '/api/connectivity-test', this.longTimeoutMs, true);
  }

  checkThisPc(): Promise<ApiThisPcReport> {
    return this.call('POST', '/api/check-this-pc', this.longTimeoutMs, true);
  }

  /** The token mutating calls send; throws AgentApiError 'token-unreadable' / 'token-missing'. */
  readToken(): string {
    const file = path.join(this.dataDir, API_TOKEN_FILE);
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') {
        throw new AgentApiError(`reading the API token ${file} needs administrator rights`, 'token-unreadable');
      }
      if (code === 'ENOENT') throw new AgentApiError(`no API token at ${file}: the agent has not started with this data folder yet`, 'token-missing');
      throw new AgentApiError(`cannot read the API token ${file}: ${(err as Error).message}`, 'failed');
    }
  }

  private async call<T>(method: 'GET' | 'POST', route: string, timeoutMs: number, withToken: boolean): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (withToken) headers.authorization = `Bearer ${this.readToken()}`;
    const what = `${method} ${route}`;
    let response: { status: number; text: string };
    try {
      response = await request(`${this.baseUrl}${route}`, method, headers, timeoutMs);
    } catch (err) {
      throw transportError(err, what, this.baseUrl, timeoutMs);
    }
    let body: unknown;
    try {
      body = response.text === '' ? undefined : JSON.parse(response.text);
    } catch {
      throw new AgentApiError(`${what}: the agent answered HTTP ${response.status} with something that is not JSON`, 'failed', response.status);
    }
    if (response.status < 200 || response.status > 299) {
      const reason = (body as ApiError | undefined)?.error ?? `HTTP ${response.status}`;
      const failure = response.status === 401 || response.status === 403 ? 'unauthorized' : 'failed';
      throw new AgentApiError(`${what}: ${reason}`, failure, response.status);
    }
    return body as T;
  }
}

class RequestTimeout extends Error {}

/**
 * One request on a fresh connection with node:http. Not fetch: undici sets TCP keep-alive on the socket before it
 * connects, which Wine's sockets refuse ("connect UNKNOWN"), and the packaged agent is tested under Wine.
 */
function request(url: string, method: string, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new RequestTimeout()));
    req.on('error', reject);
    req.end();
  });
}

function transportError(err: unknown, what: string, baseUrl: string, timeoutMs: number): AgentApiError {
  if (err instanceof RequestTimeout) return new AgentApiError(`${what}: no answer from the agent at ${baseUrl} within ${timeoutMs} ms`, 'timeout');
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET') {
    return new AgentApiError(`${what}: the agent is not running (nothing answers at ${baseUrl})`, 'not-running');
  }
  return new AgentApiError(`${what}: ${errorMessage(err)}`, 'failed');
}
