// The agent's local API over real HTTP, served by a real `gateway run` (its own database, a STOW-RS upstream on a
// port where nothing listens): the token, the loopback-only binding, refusal of other origins and host names,
// bad input, and what a received study looks like in /api/studies, /api/status and /metrics.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readOrCreateApiToken } from '../agent/api/token';
import type { ApiConnectivityReport, ApiError, ApiRetryResult, ApiStatus, ApiStudiesPage, ApiThisPcReport } from '../agent/api/types';
import { freePort } from '../agent/db/embedded-postgres';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';
import { createTestDatabase, query } from './helpers/database';
import { runDcmtk } from './helpers/dcmtk';
import { startGateway, type GatewayProcess } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';
import { waitFor } from './helpers/wait';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Whichever of the API's answers this was: the tests read the fields of the one they asked for. */
  json: Partial<ApiStatus & ApiStudiesPage & ApiError & ApiRetryResult>;
}

/** One raw HTTP request (fetch would not let us set Host, nor send a body on a bare OPTIONS). */
function request(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer, address = '127.0.0.1'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: address, port, method, path, headers: { ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Answer['json'] = {};
        try {
          json = JSON.parse(text);
        } catch {
          json = {};
        }
        resolve({ status: res.statusCode!, headers: res.headers, body: text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the API token', () => {
  test('written once as 64 hex characters, owner-only, kept across starts, a damaged one replaced', () => {
    const dir = tempDir('api-token');
    const token = readOrCreateApiToken(dir);
    assert.match(token, /^[0-9a-f]{64}$/);
    if (process.platform !== 'win32') assert.equal(fs.statSync(path.join(dir, 'api-token')).mode & 0o777, 0o600);
    assert.equal(readOrCreateApiToken(dir), token);
    fs.writeFileSync(path.join(dir, 'api-token'), 'not a token');
    assert.notEqual(readOrCreateApiToken(dir), token);
  });
});

describe('local API of a running agent', () => {
  let gateway: GatewayProcess;
  let databaseUrl: string;
  let port: number;
  let token: string;
  const get = (p: string, headers: Record<string, string> = {}) => request(port, 'GET', p, headers);
  const getStudies = (p: string) => get(p, { Authorization: `Bearer ${token}` });
  const post = (p: string, headers: Record<string, string> = {}, body?: string | Buffer) => request(port, 'POST', p, { Authorization: `Bearer ${token}`, ...headers }, body);

  before(async () => {
    databaseUrl = await createTestDatabase();
    const nothingListens = await freePort();
    // No PowerShell here: POST /api/check-this-pc must say so (the real one is tested by powershell-bridge.test.ts).
    process.env.GATEWAY_PWSH = path.join(os.tmpdir(), 'no-such-pwsh');
    gateway = await startGateway({
      dataDir: tempDir('api'),
      database: databaseUrl,
      aeTitle: 'APIGW',
      config: {
        upstream: { kind: 'stow-rs', url: `https://127.0.0.1:${nothingListens}/dicomweb`, token: 'cloud-secret-token' },
        upload: { workers: 1, retryBaseSeconds: 1, retryMaxSeconds: 1 },
        // The default rules compress every slice (not only when the unreachable link would take them sooner so).
        compression: { lossless: 'always' },
      },
    });
    delete process.env.GATEWAY_PWSH;
    port = gateway.apiPort;
    token = fs.readFileSync(path.join(gateway.dataDir, 'api-token'), 'utf8').trim();
  });

  after(async () => {
    await gateway?.stop();
  });

  test('GET /api/status needs no token and tells the state with its reasons', async () => {
    const answer = await get('/api/status');
    assert.equal(answer.status, 200);
    assert.match(String(answer.headers['content-type']), /^application\/json/);
    const status = answer.json as ApiStatus;
    assert.equal(status.aeTitle, 'APIGW');
    assert.equal(status.receiver.listening, true);
    assert.equal(status.receiver.port, gateway.port);
    assert.equal(status.database.ok, true);
    assert.deepEqual(status.queue, { studies: 0, instances: 0, bytes: 0, failed: 0 });
    assert.equal(status.upstream.configured, true);
    assert.equal(status.upstream.reachable, null, 'nothing was sent yet');
    assert.ok(!answer.body.includes('cloud-secret-token'), 'never the upstream token');
    assert.ok(status.freeDiskBytes! > 0);
    assert.equal(status.paused, false);
    assert.equal(status.state, 'green', JSON.stringify(status.reasons));
    assert.deepEqual(status.reasons, []);
    assert.equal(status.logsDir, path.join(gateway.dataDir, 'logs'));
  });

  test('the agent records its API port; it listens on 127.0.0.1 only', async () => {
    const runtime = JSON.parse(fs.readFileSync(path.join(gateway.dataDir, 'agent.json'), 'utf8'));
    assert.equal(runtime.apiPort, port);
    // A socket bound to 127.0.0.1 accepts only connections to that address: 127.0.0.2 is this machine too (the
    // whole 127/8 is loopback on Linux), so a refusal there proves the bind is not 0.0.0.0; the same for every
    // other address of this machine.
    const others = [
      '127.0.0.2',
      ...Object.values(os.networkInterfaces())
        .flat()
        .filter((a) => a && a.family === 'IPv4' && !a.internal)
        .map((a) => a!.address),
    ];
    for (const address of others) {
      const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
        const socket = net.connect({ host: address, port }, () => {
          socket.destroy();
          resolve(undefined);
        });
        socket.on('error', resolve);
      });
      assert.equal(error?.code, 'ECONNREFUSED', `${address}:${port} must not answer`);
    }
    assert.equal((await request(port, 'GET', '/api/status', { Host: `localhost:${port}` })).status, 200);
  });

  test('mutating calls need the token: 401 without it or with a wrong one', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { Authorization: 'Bearer 0000' },
      { Authorization: `Basic ${token}` },
      { Authorization: `Bearer ${token.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a'))}` },
    ]) {
      assert.equal((await get('/api/studies', headers)).status, 401, 'GET /api/studies');
      for (const p of ['/api/uploads/pause', '/api/uploads/resume', '/api/connectivity-test', '/api/check-this-pc', '/api/studies/1.2.3/retry']) {
        const answer = await request(port, 'POST', p, headers);
        assert.equal(answer.status, 401, `${p} with ${JSON.stringify(headers)}`);
        assert.match(answer.json.error ?? '', /API token/);
      }
    }
    assert.equal((await get('/api/status')).json.paused, false, 'nothing was paused');

    const paused = await post('/api/uploads/pause');
    assert.equal(paused.status, 200);
    assert.deepEqual(paused.json, { paused: true });
    const status = (await get('/api/status')).json as ApiStatus;
    assert.equal(status.paused, true);
    assert.equal(status.state, 'amber');
    assert.deepEqual(
      status.reasons.map((r) => r.code),
      ['paused'],
    );
    assert.deepEqual((await post('/api/uploads/resume')).json, { paused: false });
    assert.equal((await get('/api/status')).json.state, 'green');
  });

  test('pages of other origins and other host names (DNS rebinding) are refused, and no CORS header is sent', async () => {
    const evil = { Origin: 'http://evil.example' };
    assert.equal((await get('/api/status', evil)).status, 403);
    assert.equal((await get('/api/studies', { Origin: 'null' })).status, 403);
    assert.equal((await get('/api/status', { Origin: `http://127.0.0.1:${port + 1}` })).status, 403, 'another local port is another origin');
    const forged = await post('/api/uploads/pause', evil);
    assert.equal(forged.status, 403, 'even with the token');
    assert.match(forged.json.error ?? '', /other origins/);
    assert.equal((await get('/api/status')).json.paused, false);
    const preflight = await request(port, 'OPTIONS', '/api/uploads/pause', { ...evil, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization' });
    assert.equal(preflight.status, 403);
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);

    const rebound = await request(port, 'GET', '/api/status', { Host: `evil.example:${port}` });
    assert.equal(rebound.status, 421);
    assert.match(rebound.json.error ?? '', /answers only as 127\.0\.0\.1/);
    assert.equal((await post('/api/uploads/pause', { Host: `attacker.example:${port}` })).status, 421);

    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      const own = await get('/api/status', { Origin: origin });
      assert.equal(own.status, 200, origin);
      assert.equal(own.headers['access-control-allow-origin'], undefined);
    }
    assert.equal((await request(port, 'OPTIONS', '/api/status', { Origin: `http://127.0.0.1:${port}` })).status, 204);
  });

  test('bad input gets 4xx with a JSON message', async () => {
    const cases: Array<[Promise<Answer>, number, RegExp]> = [
      [get('/api/nothing'), 404, /no such endpoint/],
      [get('/api/status/'), 404, /no such endpoint/],
      [get('//evil.example/api/status'), 404, /no such endpoint/],
      [request(port, 'DELETE', '/api/status'), 405, /DELETE is not allowed/],
      [get('/api/uploads/pause'), 405, /allowed: POST/],
      [post('/api/studies/not-a-uid/retry'), 400, /not a study instance UID/],
      [post(`/api/studies/${'1.'.repeat(40)}1/retry`), 400, /at most 64/],
      [post('/api/studies/1.2.%E0%A4%A/retry'), 400, /URL encoding/],
      [post('/api/studies/1.2.840.99999.1/retry'), 404, /no study 1\.2\.840\.99999\.1/],
      [getStudies('/api/studies?limit=0'), 400, /limit must be a whole number from 1 to 200/],
      [getStudies('/api/studies?limit=201'), 400, /limit/],
      [getStudies('/api/studies?limit=ten'), 400, /limit/],
      [getStudies('/api/studies?offset=-1'), 400, /offset/],
      [getStudies('/api/studies?offset=1.5'), 400, /offset/],
      [getStudies('/api/studies?sort=name'), 400, /unknown parameter sort/],
      [post('/api/uploads/pause', {}, Buffer.alloc(64 * 1024)), 413, /too large/],
    ];
    for (const [pending, status, message] of cases) {
      const answer = await pending;
      assert.equal(answer.status, status, `${answer.body}`);
      assert.match(answer.json?.error ?? '', message);
    }
    assert.equal((await request(port, 'DELETE', '/api/status')).headers.allow, 'GET');
  });

  test('POST /api/connectivity-test runs every step; POST /api/check-this-pc says when PowerShell is missing', async () => {
    const report = (await post('/api/connectivity-test')).json as ApiConnectivityReport;
    assert.equal(report.ok, false);
    assert.equal(report.upstream?.kind, 'stow-rs');
    assert.deepEqual(
      report.steps.slice(0, 2).map((s) => [s.name, s.status]),
      [
        ['DNS', 'pass'],
        ['TCP connect', 'fail'],
      ],
    );
    assert.ok(report.steps.every((s) => typeof s.detail === 'string' && typeof s.ms === 'number'));
    const thisPc = await post('/api/check-this-pc');
    assert.equal(thisPc.status, 200);
    const pc = thisPc.json as ApiThisPcReport;
    assert.equal(pc.available, false);
    assert.deepEqual(pc.results, []);
    assert.match(pc.message!, /PowerShell not available/);
  });

  test('a received study: listed with its progress, the unreachable cloud shown, retried, counted in /metrics', async () => {
    const series = writeSyntheticCtSeries(tempDir('api-ct'), { slices: 3, rows: 32, columns: 32, patientName: 'Doe^Jane' });
    assert.equal((await runDcmtk('storescu', ['-aec', 'APIGW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);

    const page = (await getStudies('/api/studies')).json as ApiStudiesPage;
    assert.deepEqual([page.total, page.limit, page.offset, page.studies.length], [1, 50, 0, 1]);
    const study = page.studies[0];
    assert.equal(study.studyUid, series.studyInstanceUid);
    assert.equal(study.modality, 'CT');
    assert.equal(study.instancesReceived, 3);
    assert.equal(study.instancesUploaded, 0);
    assert.ok(study.bytes > 3 * 32 * 32 * 2);
    assert.ok(['receiving', 'uploading'].includes(study.state), study.state);
    const withPatient = await getStudies('/api/studies?patient=1&limit=1&offset=0');
    assert.equal((withPatient.json.studies?.[0] as unknown as Record<string, unknown>).patientName, undefined, 'the database keeps no patient names');
    assert.ok(!withPatient.body.includes('Doe'));
    assert.deepEqual((await getStudies('/api/studies?offset=1')).json.studies, []);

    // Nothing listens upstream: after a few failed batches in a row the cloud is unreachable (amber at first).
    await waitFor('the cloud seen unreachable', async () => (await get('/api/status')).json.upstream?.reachable === false);
    // Compression waits for receiving to go quiet, and a worker's first job loads its codecs: it may still run.
    await waitFor('the default rules compressed the three slices', async () => (await get('/api/status')).json.compression?.compressed === 3);
    const status = (await get('/api/status')).json as ApiStatus;
    assert.equal(status.state, 'amber');
    assert.deepEqual(
      status.reasons.map((r) => [r.code, r.state]),
      [['upstream-unreachable', 'amber']],
    );
    assert.match(status.upstream.lastError!, /127\.0\.0\.1/);
    assert.ok(Date.parse(status.upstream.unreachableSince!) <= Date.now());
    assert.equal(status.lastReceivedAt !== null, true);
    assert.equal(status.queue.instances, 3);
    assert.equal(status.queue.studies, 1);
    assert.equal(status.compression?.pending, 0);
    assert.ok(status.compression!.ratio > 1);

    // Make the instances permanently failed (as a cloud refusal would), then retry the study through the API.
    await post('/api/uploads/pause');
    await waitFor('no batch on its way', async () => (await query(databaseUrl, "SELECT count(*)::int AS n FROM uploads WHERE state = 'sending'"))[0].n === 0);
    await query(databaseUrl, "UPDATE uploads SET state = 'failed', last_error = 'refused by the test'");
    const failed = (await get('/api/status')).json as ApiStatus;
    assert.equal(failed.queue.failed, 3);
    assert.ok(failed.reasons.some((r) => r.code === 'uploads-failed' && r.state === 'amber'));
    assert.equal((await getStudies('/api/studies')).json.studies?.[0].state, 'failed');

    const metrics = await get('/metrics');
    assert.equal(metrics.status, 200);
    assert.equal(metrics.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(metrics.body, /^# HELP gateway_state .+\n# TYPE gateway_state gauge\ngateway_state 1$/m);
    assert.match(metrics.body, /^gateway_uploads_failed 3$/m);
    assert.match(metrics.body, /^gateway_uploads_paused 1$/m);
    assert.match(metrics.body, /^gateway_upstream_reachable 0$/m);
    assert.match(metrics.body, /^gateway_instances_received_total 3$/m);
    assert.match(metrics.body, /^gateway_instances_uploaded_total 0$/m);
    assert.match(metrics.body, /^gateway_free_disk_bytes \d+$/m);
    assert.match(metrics.body, /^gateway_compressed_instances 3$/m);
    assert.ok(!metrics.body.includes(series.studyInstanceUid), 'no UIDs in metrics');
    for (const line of metrics.body.trimEnd().split('\n')) assert.match(line, /^(# (HELP|TYPE) gateway_\w+ .+|gateway_\w+(\{version="[^"]+"\})? [0-9.e+-]+)$/, line);

    const retried = await post(`/api/studies/${series.studyInstanceUid}/retry`);
    assert.equal(retried.status, 200);
    assert.deepEqual(retried.json, { studyUid: series.studyInstanceUid, requeued: 3 });
    assert.equal((await query(databaseUrl, "SELECT count(*)::int AS n FROM uploads WHERE state = 'queued'"))[0].n, 3);
    assert.deepEqual((await post(`/api/studies/${series.studyInstanceUid}/retry`)).json.requeued, 0);
  });
});
