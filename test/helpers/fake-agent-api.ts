import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { publishApiPort } from '../../agent/api/token';
import { trayAccessDir } from '../../tray/agent-access';
import { API_TOKEN_FILE, type ApiConnectivityReport, type ApiStatus, type ApiThisPcReport } from '../../agent/api/types';

/** A green, idle agent's status; tests change fields of it. */
export function greenStatus(logsDir = '/tmp/gateway-logs'): ApiStatus {
  return {
    state: 'green',
    reasons: [],
    version: '0.0.0-test',
    aeTitle: 'TEST_GW',
    startedAt: new Date().toISOString(),
    receiver: { listening: true, port: 4104, activeAssociations: 0 },
    upstream: { configured: true, kind: 'stow-rs', target: 'https://cloud.example/dicom-web', reachable: true },
    queue: { studies: 0, instances: 0, bytes: 0, failed: 0 },
    lastReceivedAt: null,
    lastUploadedAt: null,
    uploadMbps: 0,
    freeDiskBytes: 500e9,
    database: { ok: true },
    paused: false,
    logsDir,
  };
}

/**
 * The agent's local API as agent/api/types.ts describes it, for the tray's tests before (and beside) the real
 * agent: serves `status`, checks the bearer token of mutating calls, records every request, and can stop and
 * start again on the same port (an agent restart).
 */
export class FakeAgentApi {
  status: ApiStatus;
  connectivityReport: ApiConnectivityReport = { steps: [{ name: 'TCP connect', status: 'pass', detail: 'connected', ms: 3 }], ok: true, uploadMbps: 42.5 };
  thisPcReport: ApiThisPcReport = { available: false, results: [], message: 'PowerShell is not installed on this computer' };
  /** "METHOD /path" of every request, in order. */
  readonly requests: string[] = [];
  port = 0;
  readonly token = crypto.randomBytes(32).toString('hex');
  private server: http.Server | null = null;

  constructor(readonly dataDir: string) {
    this.status = greenStatus(path.join(dataDir, 'logs'));
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(path.join(dataDir, API_TOKEN_FILE), `${this.token}\n`, { mode: 0o600 });
    // The tray reads its token from <dataDir>/tray; this fake takes the same one there.
    fs.mkdirSync(trayAccessDir(dataDir), { recursive: true });
    fs.writeFileSync(path.join(trayAccessDir(dataDir), API_TOKEN_FILE), `${this.token}\n`, { mode: 0o600 });
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    publishApiPort(this.dataDir, this.port);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  saw(request: string): boolean {
    return this.requests.includes(request);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const request = `${req.method} ${req.url}`;
    this.requests.push(request);
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (request === 'GET /api/status') return reply(200, this.status);
    if (req.method !== 'POST') return reply(404, { error: `no route ${request}` });
    if (req.headers.authorization !== `Bearer ${this.token}`) return reply(401, { error: 'a valid token is needed' });
    switch (req.url) {
      case '/api/uploads/pause':
      case '/api/uploads/resume':
        this.status.paused = req.url.endsWith('pause');
        return reply(200, { paused: this.status.paused });
      case '/api/connectivity-test':
        return reply(200, this.connectivityReport);
      case '/api/check-this-pc':
        return reply(200, this.thisPcReport);
      default:
        return reply(404, { error: `no route ${request}` });
    }
  }
}
