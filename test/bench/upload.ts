// Upload benchmark (a script, not a timed test): the 200-slice synthetic CT series (512 KiB files) sent upstream.
//
//   test/bench/upload [--runs 3] [--slices 200] [--workers 1,4] [--only a,b,c] [--no-agent-tls] [--outages 30,180]
//   test/bench/upload --only e [--runs 3]      (the one-association cloud)
//   test/bench/upload --only f [--runs 3]      (push-to-cloud vs Orthanc's store-and-forward router; a few minutes)
//
// (a) Backlog over a 20 Mbps link: the real agent (bin/gateway.js) first receives the series with no upstream
//     configured (so everything is queued), is stopped, gets an upstream and is started again; the whole backlog
//     then goes to the STOW-RS simulator. Link utilization = file bytes * 8 / seconds / 20e6, seconds from the
//     first byte on the link to the last instance marked done in the database. Two links:
//       - a shared 20 Mbps link: a TCP relay in front of the simulator paces every connection together (a real
//         uplink: 4 workers share it), with upload.workers 1 and 4;
//       - the simulator's own throttleMbps 20: it paces each request on its own, so it models the link only for
//         one request at a time (workers 1).
// (b) DICOM-TLS over unthrottled loopback: the gateway's DICOM-TLS transport (createDicomTlsTransport, batches of
//     100 on one association, mutual TLS) against DCMTK `storescu +tls` (TCP_NODELAY=1) sending the same files,
//     alternately, to a fresh Orthanc each run (its own storage: disk + SQLite index) and to the DICOM-TLS
//     simulator (a raw-PDU SCP that keeps the datasets in memory, in its own process: the network-only reference).
//     Then the full agent (workers 1 and 4) as backlog to Orthanc, unthrottled.
// (c) STOW-RS over unthrottled loopback: the gateway's STOW-RS transport (one request with all instances) against
//     `curl --data-binary @body` posting a multipart body with the same parts built beforehand, to a fresh
//     simulator (in its own process) each run; curl's time is its own %{time_total} (the POST only).
//
// (d) Return after an outage (--only d): the real agent (defaults: 15 s probe, 900 s backoff cap) keeps 30 instances
//     while its DICOM-TLS cloud is away for each of --outages seconds (first half refusing connections, second half
//     behind an intercepting proxy with a certificate from an unknown CA, which the gateway rightly refuses), then
//     the cloud comes back on its port: seconds from its return to the first and the last instance delivered.
//
// (e) A cloud that takes one association at a time (--only e): the real agent (upload.workers 4) sends its backlog
//     to DCMTK `storescp +tls` without --fork (further connections wait in its listen queue) and, alternately in
//     each run, to the same with --fork (as many associations as asked): seconds from the first byte to the last
//     instance done, the ratio (target <= 1.5x), and how many uploads were counted failed (target 0).
//
// (f) Push to cloud (--only f): the modality-to-cloud path with receive and upload overlapping. storescu (plain
//     DICOM, one association, loopback) sends the series into a router whose upstream is a fresh DICOM-TLS simulator
//     (own process, mutual TLS, any offered transfer syntax accepted, each instance's time of storing recorded);
//     seconds from storescu's first byte (taken at a relay in front of the router) to the last instance of the
//     series stored by the cloud. Alternately in each run:
//       - this gateway as installed: the real agent at its defaults (compression on, upload workers, Storage
//         Commitment), upstream kind dicom-tls;
//       - Orthanc as a store-and-forward router that never loses what it acknowledged (fsync of each file, forwarding
//         from Lua OnStoredInstance on one kept-open DICOM-TLS association, as received: see routerConfig in
//         test/helpers/orthanc.ts for why this is its fastest faithful setup);
//       - storescu +tls straight to the cloud: the network floor (no router; one run behind the shaped link).
//     Each router first gets a 20-slice warm-up series (other UIDs) through the same link and delivers it, untimed
//     (JIT warm, link rate learned, as in a running router). Between router and cloud: the relay of (a), unpaced
//     (loopback) and shaped to 50 Mbps; its bytes during the timed push are printed (the gateway sends less when it
//     compresses). Targets: loopback gateway / Orthanc <= 1.0; 50 Mbps Orthanc / gateway >= 2.5. Every run checks
//     that the cloud got all the series' SOP Instance UIDs and that the router kept every instance.
//
// MB/s are 1e6 bytes of DICOM files per second; figures are medians of --runs runs; each transport first makes one
// untimed send (JIT warm, as in a running agent). Starts its own PostgreSQL
// unless TEST_DATABASE_URL is set. Everything lives in a fresh temp folder, removed at the end.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { UpstreamConfig } from '../../agent/config/upstream-config';
import { createDicomTlsTransport } from '../../agent/upload/dicom-tls-transport';
import { createPacer } from '../../agent/upload/pacer';
import { createStowRsTransport } from '../../agent/upload/stow-rs-transport';
import type { OutgoingInstance, Transport } from '../../agent/upload/transport';
import { startDicomTlsScp, type StoredInstance } from '../cloud-simulator/dicom-tls-scp';
import { outgoingSeries } from '../cloud-simulator/outgoing';
import { startStowRsSimulator } from '../cloud-simulator/stow-rs-server';
import { makeTestPki, type TestPki } from '../helpers/certificates';
import { dicomTlsCloudUpstream, makeCloudPki, type CloudPki } from '../cloud-simulator/pki';
import { freePort } from '../../agent/db/embedded-postgres';
import { createTestDatabase, dropTestDatabases, ensureTestPostgres, query } from '../helpers/database';
import { writeSyntheticCtSeries } from '../fixtures/synthetic-ct';
import { runDcmtk, waitForPort } from '../helpers/dcmtk';
import { launchGateway, startGateway } from '../helpers/gateway-process';
import { startOrthanc, type Orthanc } from '../helpers/orthanc';

const LINK_MBPS = 20;
const UTILIZATION_TARGET = 0.9;
const RATIO_TARGET = 1.0;
const BATCH = 100; // upload.batchMaxInstances default: the uploader's batch size
// (f): the shaped router-to-cloud link, the targets (gateway / Orthanc on loopback; Orthanc / gateway at 50 Mbps).
const PUSH_LINK_MBPS = 50;
const PUSH_LOOPBACK_TARGET = 1.0;
const PUSH_SHAPED_TARGET = 2.5;
const PUSH_WARM_UP_SLICES = 20;
const TRANSFER_SYNTAX_NAMES: Record<string, string> = {
  '1.2.840.10008.1.2': 'implicit LE',
  '1.2.840.10008.1.2.1': 'explicit LE',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS near-lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
};

interface Options {
  runs: number;
  slices: number;
  workers: number[];
  only: Set<string>;
  agentTls: boolean;
  outages: number[];
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string', default: '3' },
      slices: { type: 'string', default: '200' },
      workers: { type: 'string', default: '1,4' },
      only: { type: 'string', default: 'a,b,c' },
      'no-agent-tls': { type: 'boolean', default: false },
      outages: { type: 'string', default: '30,180' },
    },
  });
  return {
    runs: Math.max(1, Number(values.runs)),
    slices: Math.max(1, Number(values.slices)),
    workers: values.workers!.split(',').filter(Boolean).map(Number),
    only: new Set(values.only!.split(',').filter(Boolean)),
    agentTls: !values['no-agent-tls'],
    outages: values.outages!.split(',').filter(Boolean).map(Number),
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
    });
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Simulators in their own process (so the transport under test does not share an event loop with its peer)

type ServeKind = 'stow' | 'dicom-tls';

/** Child mode: `upload.ts --serve stow|dicom-tls <pkiDir> [storeDir]`; prints {"port":N} and runs until SIGTERM. */
async function serve(kind: ServeKind, pkiDir: string, storeDir: string | undefined): Promise<void> {
  const pki = JSON.parse(fs.readFileSync(path.join(pkiDir, 'pki.json'), 'utf8')) as TestPki;
  let stop: () => Promise<unknown>;
  let port: number;
  if (kind === 'stow') {
    const sim = await startStowRsSimulator({ pki: pki as Parameters<typeof startStowRsSimulator>[0]['pki'], storeDir: storeDir!, token: 't' });
    port = sim.port;
    stop = sim.stop;
  } else {
    const scp = await startDicomTlsScp({ certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caFile, requireClientCertificate: true, aeTitle: 'CLOUDSIM' });
    port = scp.port;
    stop = scp.close;
    // Reports, on demand (SIGUSR2), what it has kept.
    process.on('SIGUSR2', () => process.stdout.write(`${JSON.stringify(keptReport(scp.stored))}\n`));
  }
  process.on('SIGTERM', () => {
    void stop().finally(() => process.exit(0));
  });
  process.stdout.write(`${JSON.stringify({ port })}\n`);
}

/** What the DICOM-TLS simulator kept: how many C-STOREs, and each SOP Instance UID's first store. */
interface KeptReport {
  stored: number;
  instances: Record<string, { storedAt: number; transferSyntaxUid: string }>;
}

function keptReport(stored: StoredInstance[]): KeptReport {
  const instances: KeptReport['instances'] = {};
  for (const s of stored) instances[s.sopInstanceUid] ??= { storedAt: s.storedAt, transferSyntaxUid: s.transferSyntaxUid };
  return { stored: stored.length, instances };
}

interface ServedPeer {
  port: number;
  child: ChildProcess;
  /** dicom-tls only: instances the simulator kept. */
  stored(): Promise<number>;
  /** dicom-tls only: what the simulator kept, per SOP Instance UID. */
  kept(): Promise<KeptReport>;
  stop(): Promise<void>;
}

async function startServed(kind: ServeKind, pkiDir: string, storeDir?: string): Promise<ServedPeer> {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--serve', kind, pkiDir, ...(storeDir ? [storeDir] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buffered = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (data: Buffer) => {
    buffered += data.toString();
    let at: number;
    while ((at = buffered.indexOf('\n')) >= 0) {
      lines.push(buffered.slice(0, at));
      buffered = buffered.slice(at + 1);
    }
    for (const listener of listeners) listener();
  });
  const nextLine = (timeoutMs: number) =>
    withTimeout(
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const line = lines.shift();
          if (line !== undefined) {
            listeners.delete(check);
            child.off('exit', check);
            resolve(line);
          } else if (child.exitCode !== null) {
            listeners.delete(check);
            reject(new Error(`${kind} simulator exited (code ${child.exitCode})`));
          }
        };
        listeners.add(check);
        child.once('exit', check);
        check();
      }),
      timeoutMs,
      `${kind} simulator`,
    );
  const { port } = JSON.parse(await nextLine(30000)) as { port: number };
  const kept = async () => {
    child.kill('SIGUSR2');
    return JSON.parse(await nextLine(10000)) as KeptReport;
  };
  return {
    port,
    child,
    stored: async () => (await kept()).stored,
    kept,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      await gone;
      clearTimeout(timer);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// A link: a TCP relay pacing the client-to-server bytes of all its connections together (0 = unpaced)

interface Link {
  port: number;
  bytes: number;
  firstByteAt?: number;
  stop(): Promise<void>;
}

async function startLink(targetPort: number, mbps: number): Promise<Link> {
  const sockets = new Set<net.Socket>();
  let nextFree = 0; // performance.now() at which the link is free again
  const link: Link = { port: 0, bytes: 0, stop: async () => {} };
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect(targetPort, '127.0.0.1');
    upstream.setNoDelay(true);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    let heldUntil = 0;
    let needDrain = false;
    const maybeResume = () => {
      if (needDrain) return;
      const left = heldUntil - performance.now();
      // Timers may fire a little early: wait out the rest rather than stall.
      if (left > 0.5) setTimeout(maybeResume, Math.ceil(left));
      else client.resume();
    };
    client.on('data', (chunk: Buffer) => {
      const now = performance.now();
      link.firstByteAt ??= Date.now();
      link.bytes += chunk.length;
      if (!upstream.write(chunk)) {
        needDrain = true;
        client.pause();
        upstream.once('drain', () => {
          needDrain = false;
          maybeResume();
        });
      }
      if (mbps > 0) {
        nextFree = Math.max(now, nextFree) + (chunk.length * 8) / (mbps * 1000);
        const wait = nextFree - now;
        if (wait > 1) {
          heldUntil = nextFree;
          client.pause();
          setTimeout(maybeResume, wait);
        }
      }
    });
    client.on('end', () => upstream.end());
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  link.port = (server.address() as net.AddressInfo).port;
  link.stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return link;
}

// ---------------------------------------------------------------------------------------------------------------
// The whole agent: a queued backlog, then upload

const databases: string[] = [];

interface BacklogResult {
  /** First byte on the link to the last instance marked done. */
  seconds: number;
  /** "agent ready" of the restarted agent to the last instance marked done. */
  readySeconds: number;
  linkBytes: number;
  /** Instances delivered after more than one counted attempt. */
  failedAttempts: number;
}

/**
 * Receives the files into an agent with no upstream (all queued), stops it, configures `upstream` (pointed at a link
 * to targetPort) and upload.workers, starts it again and waits until every instance is done.
 */
async function agentBacklog(
  root: string,
  files: string[],
  target: { port: number; upstream: (linkPort: number) => Record<string, unknown> },
  linkMbps: number,
  workers: number,
  timeoutMs: number,
): Promise<BacklogResult> {
  const dataDir = fs.mkdtempSync(path.join(root, 'agent-'));
  const database = await createTestDatabase();
  databases.push(database);
  // Link utilization counts the files' bytes as received: they are sent as received (see test/bench/compress).
  const first = await startGateway({ dataDir, database, config: { limits: { minFreeDiskMb: 64 }, compression: { enabled: false } } });
  try {
    const sent = await runDcmtk('storescu', ['-aet', 'BENCH', '-aec', first.aeTitle, '127.0.0.1', String(first.port), ...files], 600000);
    if (sent.code !== 0 || /Store Failed|Status: [^0]/i.test(sent.stderr)) throw new Error(`storescu into the agent failed (code ${sent.code}): ${sent.stderr.slice(-2000)}`);
  } finally {
    await first.stop();
  }
  const pool = new pg.Pool({ connectionString: database, max: 1 });
  const link = await startLink(target.port, linkMbps);
  try {
    const queued = await pool.query<{ n: string }>("SELECT count(*) AS n FROM uploads WHERE state = 'queued'");
    if (Number(queued.rows[0].n) !== files.length) throw new Error(`the agent queued ${queued.rows[0].n} uploads, expected ${files.length}`);
    const config = JSON.parse(fs.readFileSync(first.configFile, 'utf8')) as Record<string, unknown>;
    config.upstream = target.upstream(link.port);
    config.upload = { workers };
    fs.writeFileSync(first.configFile, JSON.stringify(config, null, 2));
    spawnSync('sync');
    const gateway = await launchGateway(first.configFile, first.port, first.aeTitle, dataDir);
    const ready = Date.now();
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { rows } = await pool.query<{ done: string; failed: string; retried: string; last: number | null; error: string | null }>(
          "SELECT count(*) FILTER (WHERE state = 'done') AS done, count(*) FILTER (WHERE state = 'failed') AS failed, count(*) FILTER (WHERE attempts > 1) AS retried, (extract(epoch FROM max(delivered_at)) * 1000)::float8 AS last, max(last_error) AS error FROM uploads",
        );
        const row = rows[0];
        if (Number(row.failed) > 0) throw new Error(`${row.failed} uploads failed permanently: ${row.error}`);
        if (Number(row.done) === files.length) {
          const end = row.last!;
          return { seconds: (end - (link.firstByteAt ?? ready)) / 1000, readySeconds: (end - ready) / 1000, linkBytes: link.bytes, failedAttempts: Number(row.retried) };
        }
        if (Date.now() > deadline)
          throw new Error(`only ${row.done} of ${files.length} uploads done after ${timeoutMs / 1000} s (last error: ${row.error}); agent output:\n${gateway.output().slice(-3000)}`);
        await sleep(100);
      }
    } finally {
      await gateway.stop();
    }
  } finally {
    await link.stop();
    await pool.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Transports on their own

async function sendThrough(transport: Transport, instances: OutgoingInstance[], batchSize: number): Promise<number> {
  const start = performance.now();
  try {
    for (let i = 0; i < instances.length; i += batchSize) {
      const outcome = await transport.send(instances.slice(i, i + batchSize));
      if (outcome.failed.length > 0) throw new Error(`${outcome.failed.length} instances not delivered: ${outcome.failed[0].error}`);
    }
  } finally {
    await transport.close();
  }
  return (performance.now() - start) / 1000;
}

function dicomTlsUpstream(pki: TestPki, port: number, calledAeTitle: string): UpstreamConfig {
  return { kind: 'dicom-tls', host: 'localhost', port, calledAeTitle, caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile, storageCommitment: false };
}

async function storescuTls(pki: TestPki, port: number, calledAeTitle: string, files: string[]): Promise<number> {
  const start = performance.now();
  const result = await runDcmtk('storescu', ['+tls', pki.clientKeyFile, pki.clientCertFile, '+cf', pki.caFile, '-aet', 'BENCH', '-aec', calledAeTitle, 'localhost', String(port), ...files], 600000);
  const seconds = (performance.now() - start) / 1000;
  if (result.code !== 0 || /Store Failed|Status: [^0]|Association Rejected|Abort/i.test(result.stderr)) throw new Error(`storescu +tls failed (code ${result.code}): ${result.stderr.slice(-2000)}`);
  return seconds;
}

async function withOrthanc<T>(root: string, pki: TestPki, expected: number, run: (orthanc: Orthanc) => Promise<T>): Promise<T> {
  const orthanc = await startOrthanc({ dir: fs.mkdtempSync(path.join(root, 'orthanc-')), pki });
  try {
    const result = await run(orthanc);
    const kept = (await orthanc.listInstances()).length;
    if (kept !== expected) throw new Error(`Orthanc kept ${kept} instances, expected ${expected}`);
    return result;
  } finally {
    await orthanc.stop();
  }
}

async function withDicomTlsSim<T>(pkiDir: string, expected: number, run: (port: number) => Promise<T>): Promise<T> {
  const sim = await startServed('dicom-tls', pkiDir);
  try {
    const result = await run(sim.port);
    const kept = await sim.stored();
    if (kept !== expected) throw new Error(`the DICOM-TLS simulator kept ${kept} instances, expected ${expected}`);
    return result;
  } finally {
    await sim.stop();
  }
}

async function withStowSim<T>(root: string, pkiDir: string, expected: number, run: (url: string) => Promise<T>): Promise<T> {
  const storeDir = fs.mkdtempSync(path.join(root, 'stow-'));
  const sim = await startServed('stow', pkiDir, storeDir);
  try {
    const result = await run(`https://localhost:${sim.port}/dicom-web`);
    const kept = fs.readdirSync(storeDir).length;
    if (kept !== expected) throw new Error(`the STOW-RS simulator kept ${kept} instances, expected ${expected}`);
    return result;
  } finally {
    await sim.stop();
    fs.rmSync(storeDir, { recursive: true, force: true });
  }
}

/** The multipart body the STOW-RS transport would send, as one file, for curl. */
function writeMultipartBody(file: string, files: string[]): string {
  const boundary = `bench-${crypto.randomBytes(16).toString('hex')}`;
  const fd = fs.openSync(file, 'w');
  files.forEach((part, i) => {
    fs.writeSync(fd, Buffer.from(`${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`, 'latin1'));
    fs.writeSync(fd, fs.readFileSync(part));
  });
  fs.writeSync(fd, Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'));
  fs.closeSync(fd);
  return boundary;
}

async function curlPost(url: string, caFile: string, bodyFile: string, boundary: string): Promise<number> {
  const args = [
    '-sS',
    '--cacert',
    caFile,
    '-o',
    '/dev/null',
    '-w',
    '%{http_code} %{time_total}',
    '-H',
    'Authorization: Bearer t',
    '-H',
    `Content-Type: multipart/related; type="application/dicom"; boundary=${boundary}`,
    '-H',
    'Accept: application/dicom+json',
    // No "Expect: 100-continue" round trip (the transport does not wait for one either).
    '-H',
    'Expect:',
    '--data-binary',
    `@${bodyFile}`,
    `${url}/studies`,
  ];
  const result = await withTimeout(
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn('curl', args);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    }),
    600000,
    'curl',
  );
  const [status, seconds] = result.stdout.trim().split(' ');
  if (result.code !== 0 || status !== '200') throw new Error(`curl failed (exit ${result.code}, HTTP ${status}): ${result.stderr}`);
  return Number(seconds);
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-bench-upload-'));
  // PostgreSQL (run as 'postgres' when this runs as root) must be able to enter it.
  fs.chmodSync(root, 0o755);
  let stopDatabase = async () => {};
  const out: string[] = [];
  const log = (line: string) => {
    console.log(line);
    out.push(line);
  };
  try {
    if (['a', 'd', 'e', 'f'].some((s) => options.only.has(s)) || (options.only.has('b') && options.agentTls)) stopDatabase = await ensureTestPostgres(root);
    const pkiDir = path.join(root, 'pki');
    const pki = makeTestPki(pkiDir);
    fs.writeFileSync(path.join(pkiDir, 'pki.json'), JSON.stringify(pki));
    const instances = outgoingSeries(path.join(root, 'series'), { slices: options.slices });
    const files = instances.map((i) => i.filePath);
    const totalBytes = instances.reduce((sum, i) => sum + i.fileBytes, 0);
    const mb = totalBytes / 1e6;
    const rate = (seconds: number) => mb / seconds;
    spawnSync('sync');
    log(
      `${files.length} CT files, ${mb.toFixed(1)} MB (${((totalBytes * 8) / 1e6).toFixed(0)} Mbit); ${options.runs} runs each; ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}); node ${process.version}; temp dir ${root}`,
    );
    const table: string[] = [];

    if (options.only.has('a')) {
      log(`\n(a) backlog through the real agent to the STOW-RS simulator at ${LINK_MBPS} Mbps`);
      const idealSeconds = (totalBytes * 8) / (LINK_MBPS * 1e6);
      const timeoutMs = idealSeconds * 4000 + 120000;
      const stowTarget = async (throttleMbps: number, run: (target: Parameters<typeof agentBacklog>[2]) => Promise<BacklogResult>) => {
        const storeDir = fs.mkdtempSync(path.join(root, 'stow-'));
        const sim = await startStowRsSimulator({ pki: pki as Parameters<typeof startStowRsSimulator>[0]['pki'], storeDir, token: 't', throttleMbps });
        try {
          const result = await run({
            port: sim.port,
            upstream: (linkPort) => ({ kind: 'stow-rs', url: `https://localhost:${linkPort}/dicom-web`, caFile: pki.caFile, token: 't', storageCommitment: false }),
          });
          const kept = fs.readdirSync(storeDir).length;
          if (kept !== files.length) throw new Error(`the simulator kept ${kept} instances, expected ${files.length}`);
          return result;
        } finally {
          await sim.stop();
          fs.rmSync(storeDir, { recursive: true, force: true });
        }
      };
      const variants: Array<{ label: string; linkMbps: number; simMbps: number; workers: number }> = [
        ...options.workers.map((workers) => ({ label: `shared ${LINK_MBPS} Mbps link, workers ${workers}`, linkMbps: LINK_MBPS, simMbps: 0, workers })),
        { label: `simulator throttleMbps ${LINK_MBPS} (per request), workers 1`, linkMbps: 0, simMbps: LINK_MBPS, workers: 1 },
      ];
      for (const variant of variants) {
        // One run each: ~45 s of transfer per run at 20 Mbps, and a paced link varies little.
        const result = await stowTarget(variant.simMbps, (target) => agentBacklog(root, files, target, variant.linkMbps, variant.workers, timeoutMs));
        const utilization = (totalBytes * 8) / result.seconds / (LINK_MBPS * 1e6);
        const overhead = result.linkBytes / totalBytes - 1;
        log(
          `  ${variant.label}: ${result.seconds.toFixed(1)} s first byte to last done (${result.readySeconds.toFixed(1)} s from "agent ready"; ideal ${idealSeconds.toFixed(1)} s), link bytes +${(overhead * 100).toFixed(2)}% over file bytes (TLS, HTTP)`,
        );
        table.push(
          row(
            `(a) ${variant.label}`,
            `${(rate(result.seconds) * 8).toFixed(2)} Mbit/s`,
            `${(utilization * 100).toFixed(1)}% utilization`,
            `>= ${UTILIZATION_TARGET * 100}%`,
            utilization >= UTILIZATION_TARGET,
          ),
        );
      }
    }

    if (options.only.has('b')) {
      log('\n(b) DICOM-TLS, unthrottled loopback: gateway transport vs storescu +tls (TCP_NODELAY=1), alternately');
      const peers: Array<{ name: string; run: <T>(fn: (port: number, ae: string) => Promise<T>) => Promise<T> }> = [
        { name: 'Orthanc', run: (fn) => withOrthanc(root, pki, files.length, (orthanc) => fn(orthanc.dicomPort, orthanc.aeTitle)) },
        { name: 'DICOM-TLS simulator', run: (fn) => withDicomTlsSim(pkiDir, files.length, (port) => fn(port, 'CLOUDSIM')) },
      ];
      // The agent is a long-running process: one untimed send first, so the transport's code is compiled (JIT) as
      // it is in an agent that has been running for a while (storescu is native code).
      await withDicomTlsSim(pkiDir, files.length, (port) =>
        sendThrough(
          createDicomTlsTransport(
            dicomTlsUpstream(pki, port, 'CLOUDSIM'),
            'BENCH',
            createPacer(() => 0),
          ),
          instances,
          BATCH,
        ),
      );
      for (const peer of peers) {
        const gateway: number[] = [];
        const storescu: number[] = [];
        for (let run = 0; run < options.runs; run++) {
          const g = await peer.run((port, ae) =>
            withTimeout(
              sendThrough(
                createDicomTlsTransport(
                  dicomTlsUpstream(pki, port, ae),
                  'BENCH',
                  createPacer(() => 0),
                ),
                instances,
                BATCH,
              ),
              600000,
              'DICOM-TLS transport',
            ),
          );
          spawnSync('sync');
          const s = await peer.run((port, ae) => storescuTls(pki, port, ae, files));
          spawnSync('sync');
          gateway.push(g);
          storescu.push(s);
          log(`  ${peer.name} run ${run + 1}: transport ${g.toFixed(2)} s (${rate(g).toFixed(1)} MB/s), storescu ${s.toFixed(2)} s (${rate(s).toFixed(1)} MB/s)`);
        }
        const ratio = rate(median(gateway)) / rate(median(storescu));
        table.push(
          row(
            `(b) DICOM-TLS transport -> ${peer.name}`,
            `${rate(median(gateway)).toFixed(1)} vs ${rate(median(storescu)).toFixed(1)} MB/s`,
            `ratio ${ratio.toFixed(2)}`,
            `>= ${RATIO_TARGET.toFixed(1)}`,
            ratio >= RATIO_TARGET,
          ),
        );
      }
      if (options.agentTls) {
        // Alternately in each run: storescu +tls, then the agent with each worker count, each to a fresh Orthanc.
        const reference: number[] = [];
        const agent = new Map<number, number[]>(options.workers.map((w) => [w, []]));
        for (let run = 0; run < options.runs; run++) {
          const s = await withOrthanc(root, pki, files.length, (o) => storescuTls(pki, o.dicomPort, o.aeTitle, files));
          spawnSync('sync');
          reference.push(s);
          const parts = [`storescu ${s.toFixed(2)} s (${rate(s).toFixed(1)} MB/s)`];
          for (const workers of options.workers) {
            const result = await withOrthanc(root, pki, files.length, (orthanc) =>
              agentBacklog(root, files, { port: orthanc.dicomPort, upstream: (linkPort) => ({ ...dicomTlsUpstream(pki, linkPort, orthanc.aeTitle) }) }, 0, workers, 300000),
            );
            spawnSync('sync');
            agent.get(workers)!.push(result.seconds);
            parts.push(`agent workers ${workers} ${result.seconds.toFixed(2)} s (${rate(result.seconds).toFixed(1)} MB/s; ${result.readySeconds.toFixed(2)} s from "agent ready")`);
          }
          log(`  agent backlog -> Orthanc run ${run + 1}: ${parts.join(', ')}`);
        }
        const storescuOrthanc = rate(median(reference));
        for (const workers of options.workers) {
          const agentRate = rate(median(agent.get(workers)!));
          const ratio = agentRate / storescuOrthanc;
          table.push(
            row(
              `(b) full agent, workers ${workers} -> Orthanc`,
              `${agentRate.toFixed(1)} vs ${storescuOrthanc.toFixed(1)} MB/s`,
              `ratio ${ratio.toFixed(2)}`,
              `>= ${RATIO_TARGET.toFixed(1)}`,
              ratio >= RATIO_TARGET,
            ),
          );
        }
      }
    }

    if (options.only.has('c')) {
      log('\n(c) STOW-RS, unthrottled loopback, all instances in one request: gateway transport vs curl --data-binary, alternately');
      const bodyFile = path.join(root, 'body.multipart');
      const boundary = writeMultipartBody(bodyFile, files);
      spawnSync('sync');
      const stowTransport = (url: string) =>
        createStowRsTransport(
          { kind: 'stow-rs', url, caFile: pki.caFile, token: 't', storageCommitment: false },
          createPacer(() => 0),
          { batchMaxBytes: 1024 ** 3 },
        );
      // One untimed send first (JIT warm, as in a running agent; curl is native code).
      await withStowSim(root, pkiDir, files.length, (url) => sendThrough(stowTransport(url), instances, instances.length));
      const gateway: number[] = [];
      const curl: number[] = [];
      for (let run = 0; run < options.runs; run++) {
        const g = await withStowSim(root, pkiDir, files.length, (url) => withTimeout(sendThrough(stowTransport(url), instances, instances.length), 600000, 'STOW-RS transport'));
        spawnSync('sync');
        const c = await withStowSim(root, pkiDir, files.length, (url) => curlPost(url, pki.caFile, bodyFile, boundary));
        spawnSync('sync');
        gateway.push(g);
        curl.push(c);
        log(`  run ${run + 1}: transport ${g.toFixed(2)} s (${rate(g).toFixed(1)} MB/s), curl ${c.toFixed(2)} s (${rate(c).toFixed(1)} MB/s)`);
      }
      const ratio = rate(median(gateway)) / rate(median(curl));
      table.push(
        row(
          '(c) STOW-RS transport -> simulator',
          `${rate(median(gateway)).toFixed(1)} vs ${rate(median(curl)).toFixed(1)} MB/s`,
          `ratio ${ratio.toFixed(2)}`,
          `>= ${RATIO_TARGET.toFixed(1)}`,
          ratio >= RATIO_TARGET,
        ),
      );
    }

    if (options.only.has('d')) {
      log('\n(d) return after an outage: the real agent, 30 instances waiting, the DICOM-TLS cloud refused then behind a rogue CA, then back');
      const cloudPki = makeCloudPki(path.join(root, 'cloud-pki'));
      for (const outageSeconds of options.outages) {
        const result = await outageReturn(root, cloudPki, files.slice(0, 30), outageSeconds);
        log(`  outage ${outageSeconds} s (${result.probes} probes): first instance ${result.firstSeconds.toFixed(1)} s, last ${result.lastSeconds.toFixed(1)} s after the cloud's return`);
        table.push(
          row(
            `(d) outage ${outageSeconds} s: return -> last delivered`,
            `first ${result.firstSeconds.toFixed(1)} s, last ${result.lastSeconds.toFixed(1)} s`,
            `${result.probes} probes`,
            '<= 20 s',
            result.lastSeconds <= 20,
          ),
        );
      }
    }

    if (options.only.has('e')) {
      log('\n(e) one-association cloud: the real agent (4 workers) to storescp +tls without --fork vs with --fork, alternately');
      const single: number[] = [];
      const many: number[] = [];
      let failedAttempts = 0;
      for (let run = 0; run < options.runs; run++) {
        for (const fork of [false, true]) {
          const cloud = await startStorescpTls(root, pki, fork);
          try {
            const result = await agentBacklog(root, files, { port: cloud.port, upstream: (linkPort) => ({ ...dicomTlsUpstream(pki, linkPort, 'CLOUD') }) }, 100000, 4, 600000);
            (fork ? many : single).push(result.seconds);
            failedAttempts += result.failedAttempts;
            log(`  run ${run + 1}: storescp +tls ${fork ? 'with' : 'without'} --fork ${result.seconds.toFixed(2)} s (${rate(result.seconds).toFixed(1)} MB/s)`);
          } finally {
            await cloud.stop();
          }
        }
      }
      const ratio = median(single) / median(many);
      table.push(row('(e) one-association cloud vs many, 4 workers', `${median(single).toFixed(2)} vs ${median(many).toFixed(2)} s`, `${ratio.toFixed(2)}x`, '<= 1.5x', ratio <= 1.5));
      table.push(row('(e) uploads counted failed (one-association cloud)', String(failedAttempts), '', '0', failedAttempts === 0));
    }

    if (options.only.has('f')) {
      log(`\n(f) push-to-cloud: storescu -> router -> DICOM-TLS cloud (simulator), first byte sent to last instance stored; alternately`);
      const warmUp = writeSyntheticCtSeries(path.join(root, 'push-warm-up'), { slices: PUSH_WARM_UP_SLICES, seed: 2 });
      const ctx: PushContext = { root, pki, pkiDir, files, sopInstanceUids: instances.map((i) => i.sopInstanceUid), warmUp };
      const contenders: PushContender[] = ['gateway', 'Orthanc router', 'storescu +tls'];
      for (const linkMbps of [0, PUSH_LINK_MBPS]) {
        const linkName = linkMbps > 0 ? `${linkMbps} Mbps` : 'loopback';
        const results = new Map<PushContender, PushResult[]>(contenders.map((c) => [c, []]));
        for (let run = 0; run < options.runs; run++) {
          const parts: string[] = [];
          // The floor behind the shaped link once (a paced link varies little; ~19 s a run).
          for (const contender of contenders.filter((c) => c !== 'storescu +tls' || linkMbps === 0 || run === 0)) {
            const result = await pushToCloud(ctx, contender, linkMbps);
            spawnSync('sync');
            results.get(contender)!.push(result);
            const syntaxes = Object.entries(result.transferSyntaxes)
              .map(([uid, n]) => `${n} ${TRANSFER_SYNTAX_NAMES[uid] ?? uid}`)
              .join(', ');
            parts.push(`${contender} ${result.seconds.toFixed(2)} s (${(result.linkBytes / 1e6).toFixed(1)} MB on the link: ${syntaxes})`);
          }
          log(`  ${linkName} run ${run + 1}: ${parts.join('; ')}`);
        }
        const seconds = (c: PushContender) => median(results.get(c)!.map((r) => r.seconds));
        const linkMb = (c: PushContender) => median(results.get(c)!.map((r) => r.linkBytes)) / 1e6;
        const [gateway, orthanc, floor] = contenders.map(seconds);
        const figure = `${gateway.toFixed(2)} vs ${orthanc.toFixed(2)} s`;
        if (linkMbps > 0) {
          const faster = orthanc / gateway;
          table.push(row(`(f) push-to-cloud, ${linkName}: gateway vs Orthanc router`, figure, `${faster.toFixed(2)}x faster`, `>= ${PUSH_SHAPED_TARGET}x`, faster >= PUSH_SHAPED_TARGET));
        } else {
          const ratio = gateway / orthanc;
          table.push(row(`(f) push-to-cloud, ${linkName}: gateway vs Orthanc router`, figure, `ratio ${ratio.toFixed(2)}`, `<= ${PUSH_LOOPBACK_TARGET.toFixed(1)}`, ratio <= PUSH_LOOPBACK_TARGET));
        }
        table.push(row(`(f) push-to-cloud, ${linkName}: storescu +tls (floor)`, `${floor.toFixed(2)} s`, `gateway/floor ${(gateway / floor).toFixed(2)}`, '', undefined));
        table.push(
          row(
            `(f) link bytes, ${linkName}: gateway vs Orthanc router`,
            `${linkMb('gateway').toFixed(1)} vs ${linkMb('Orthanc router').toFixed(1)} MB`,
            `${(linkMb('gateway') / linkMb('Orthanc router')).toFixed(2)} of Orthanc's`,
            '',
            undefined,
          ),
        );
      }
    }

    log(`\nSummary (medians of ${options.runs} runs for (b), (c), (e) and (f); (a) one run each; "A vs B" = gateway vs reference)`);
    log(`${'measure'.padEnd(58)}  ${'figure'.padEnd(22)}  ${'result'.padEnd(20)}  ${'target'.padEnd(8)}  met`);
    for (const line of table) log(line);
  } finally {
    if (databases.length > 0) await dropTestDatabases(databases.splice(0)).catch(() => undefined);
    await stopDatabase();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** (e): DCMTK storescp +tls as the cloud (AE CLOUD), with --fork (many associations) or without (one at a time). */
async function startStorescpTls(root: string, pki: TestPki, fork: boolean): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(root, 'storescp-tls-'));
  const args = ['+tls', pki.serverKeyFile, pki.serverCertFile, '+cf', pki.caFile, '-aet', 'CLOUD', '-od', dir, ...(fork ? ['--fork'] : []), String(port)];
  const child = spawn('storescp', args, { env: { ...process.env, TCP_NODELAY: '1' }, stdio: 'ignore' });
  await waitForPort(port);
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** (d): the cloud away for `outageSeconds` (refusing, then a rogue CA), then back on its port. */
async function outageReturn(root: string, pki: CloudPki, files: string[], outageSeconds: number): Promise<{ firstSeconds: number; lastSeconds: number; probes: number }> {
  const databaseUrl = await createTestDatabase();
  databases.push(databaseUrl);
  const cloudPort = await freePort();
  const gateway = await startGateway({
    dataDir: fs.mkdtempSync(path.join(root, 'outage-')),
    database: databaseUrl,
    aeTitle: 'OUTAGEGW',
    config: {
      upstream: dicomTlsCloudUpstream(pki, cloudPort),
    },
  });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  let cloud: Awaited<ReturnType<typeof startDicomTlsScp>> | undefined;
  try {
    const started = Date.now();
    const push = await runDcmtk('storescu', ['-aec', 'OUTAGEGW', '127.0.0.1', String(gateway.port), ...files]);
    if (push.code !== 0) throw new Error(`storescu: ${push.stderr}`);
    await sleep(Math.max(0, (outageSeconds * 1000) / 2 - (Date.now() - started)));
    const rogue = await startDicomTlsScp({ certFile: pki.rogueServerCertFile, keyFile: pki.rogueServerKeyFile, aeTitle: 'CLOUDPACS', port: cloudPort });
    await sleep(Math.max(0, outageSeconds * 1000 - (Date.now() - started)));
    await rogue.close();
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const probes = Number((await client.query('SELECT coalesce(max(probes), 0) AS n FROM upstream_outages')).rows[0].n);
    await client.end();
    const backAt = Date.now();
    cloud = await startDicomTlsScp({ certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caFile, requireClientCertificate: true, aeTitle: 'CLOUDPACS', port: cloudPort });
    let firstAt: number | undefined;
    while (cloud.stored.length < files.length) {
      if (Date.now() - backAt > 300_000) throw new Error(`only ${cloud.stored.length} of ${files.length} delivered 300 s after the return`);
      if (cloud.stored.length > 0) firstAt ??= Date.now();
      await sleep(50);
    }
    const lastAt = Date.now();
    return { firstSeconds: ((firstAt ?? lastAt) - backAt) / 1000, lastSeconds: (lastAt - backAt) / 1000, probes };
  } finally {
    await gateway.stop();
    await cloud?.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// (f) Push to cloud: modality -> router -> DICOM-TLS cloud, receive and upload overlapping

type PushContender = 'gateway' | 'Orthanc router' | 'storescu +tls';

interface PushContext {
  root: string;
  pki: TestPki;
  pkiDir: string;
  files: string[];
  sopInstanceUids: string[];
  /** A smaller series with other UIDs, pushed through each router (untimed) before the timed push. */
  warmUp: { files: string[]; sopInstanceUids: string[] };
}

interface PushResult {
  /** First byte storescu sent to the last of the series stored by the cloud. */
  seconds: number;
  /** Bytes that crossed the router-to-cloud link during the timed push. */
  linkBytes: number;
  /** Transfer syntax UID -> instances the cloud got in it. */
  transferSyntaxes: Record<string, number>;
}

/** A router under test, listening for the modality (plain DICOM on loopback). */
interface PushRouter {
  port: number;
  aeTitle: string;
  /** After the push: the router itself kept every instance it acknowledged. */
  verify(expected: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * One timed push for one contender: a fresh cloud (the DICOM-TLS simulator in its own process) behind a link of
 * linkMbps (0 = unpaced), the router started with its upstream pointed at the link, the warm-up series pushed
 * through and delivered, then the series; storescu's first byte is taken at a relay in front of the router.
 */
async function pushToCloud(ctx: PushContext, contender: PushContender, linkMbps: number): Promise<PushResult> {
  const cloud = await startServed('dicom-tls', ctx.pkiDir);
  const link = await startLink(cloud.port, linkMbps);
  const totalBytes = ctx.files.reduce((sum, f) => sum + fs.statSync(f).size, 0);
  // Three times the series' time on the link as received, plus starts: a stuck router fails the run.
  const timeoutMs = (linkMbps > 0 ? ((totalBytes * 8) / (linkMbps * 1e6)) * 3000 : 0) + 120000;
  let router: PushRouter | undefined;
  try {
    if (contender === 'storescu +tls') {
      await storescuTls(ctx.pki, link.port, 'CLOUDSIM', ctx.files);
      const delivered = await deliveredToCloud(cloud, ctx.sopInstanceUids, timeoutMs, contender);
      return { seconds: (delivered.lastStoredAt - link.firstByteAt!) / 1000, linkBytes: link.bytes, transferSyntaxes: delivered.transferSyntaxes };
    }
    router = contender === 'gateway' ? await gatewayRouter(ctx, link.port) : await orthancRouter(ctx, link.port);
    await modalityPush(router.port, router.aeTitle, ctx.warmUp.files);
    await deliveredToCloud(cloud, ctx.warmUp.sopInstanceUids, timeoutMs, `${contender} (warm-up)`);
    link.bytes = 0;
    const modality = await startLink(router.port, 0);
    try {
      await modalityPush(modality.port, router.aeTitle, ctx.files);
      const delivered = await deliveredToCloud(cloud, ctx.sopInstanceUids, timeoutMs, contender);
      await router.verify(ctx.warmUp.files.length + ctx.files.length);
      return { seconds: (delivered.lastStoredAt - modality.firstByteAt!) / 1000, linkBytes: link.bytes, transferSyntaxes: delivered.transferSyntaxes };
    } finally {
      await modality.stop();
    }
  } finally {
    await router?.stop();
    await link.stop();
    await cloud.stop();
  }
}

/** The modality: storescu (plain DICOM, TCP_NODELAY=1) sending the files on one association. */
async function modalityPush(port: number, calledAeTitle: string, files: string[]): Promise<void> {
  const sent = await runDcmtk('storescu', ['-aet', 'MODALITY', '-aec', calledAeTitle, '127.0.0.1', String(port), ...files], 600000);
  if (sent.code !== 0 || /Store Failed|Status: [^0]|Association Rejected|Abort/i.test(sent.stderr)) throw new Error(`storescu into the router failed (code ${sent.code}): ${sent.stderr.slice(-2000)}`);
}

/** Waits until the cloud kept every one of these SOP Instance UIDs; when it stored the last of them, and in what syntaxes. */
async function deliveredToCloud(cloud: ServedPeer, sopInstanceUids: string[], timeoutMs: number, what: string): Promise<{ lastStoredAt: number; transferSyntaxes: Record<string, number> }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const kept = await cloud.kept();
    const missing = sopInstanceUids.filter((uid) => !kept.instances[uid]);
    if (missing.length === 0) {
      const transferSyntaxes: Record<string, number> = {};
      let lastStoredAt = 0;
      for (const uid of sopInstanceUids) {
        const { storedAt, transferSyntaxUid } = kept.instances[uid];
        lastStoredAt = Math.max(lastStoredAt, storedAt);
        transferSyntaxes[transferSyntaxUid] = (transferSyntaxes[transferSyntaxUid] ?? 0) + 1;
      }
      return { lastStoredAt, transferSyntaxes };
    }
    if (Date.now() > deadline) throw new Error(`${what}: ${missing.length} of ${sopInstanceUids.length} instances not stored by the cloud after ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

/** This gateway as installed (its defaults: compression on, upload workers, Storage Commitment), upstream the cloud. */
async function gatewayRouter(ctx: PushContext, linkPort: number): Promise<PushRouter> {
  const dataDir = fs.mkdtempSync(path.join(ctx.root, 'push-agent-'));
  const database = await createTestDatabase();
  databases.push(database);
  const upstream = { kind: 'dicom-tls', host: 'localhost', port: linkPort, calledAeTitle: 'CLOUDSIM', caFile: ctx.pki.caFile, certFile: ctx.pki.clientCertFile, keyFile: ctx.pki.clientKeyFile };
  const gateway = await startGateway({ dataDir, database, config: { upstream } });
  return {
    port: gateway.port,
    aeTitle: gateway.aeTitle,
    async verify(expected) {
      const [{ count }] = await query<{ count: string }>(database, 'SELECT count(*) FROM instances');
      if (Number(count) !== expected) throw new Error(`the gateway indexed ${count} instances, expected ${expected}`);
    },
    async stop() {
      await gateway.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Orthanc as a store-and-forward router to the cloud (see routerConfig in test/helpers/orthanc.ts). */
async function orthancRouter(ctx: PushContext, linkPort: number): Promise<PushRouter> {
  const dir = fs.mkdtempSync(path.join(ctx.root, 'push-orthanc-'));
  const orthanc = await startOrthanc({ dir, pki: ctx.pki, aeTitle: 'ROUTER', router: { host: 'localhost', port: linkPort, aeTitle: 'CLOUDSIM' } });
  return {
    port: orthanc.dicomPort,
    aeTitle: orthanc.aeTitle,
    async verify(expected) {
      const kept = (await orthanc.listInstances()).length;
      if (kept !== expected) throw new Error(`the Orthanc router kept ${kept} instances, expected ${expected}`);
    },
    async stop() {
      await orthanc.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A summary line; met undefined: a figure without a target. */
function row(measure: string, figure: string, result: string, target: string, met: boolean | undefined): string {
  return `${measure.padEnd(58)}  ${figure.padEnd(22)}  ${result.padEnd(20)}  ${target.padEnd(8)}  ${met === undefined ? '' : met ? 'yes' : 'NO'}`;
}

if (process.argv[2] === '--serve') {
  serve(process.argv[3] as ServeKind, process.argv[4], process.argv[5]).catch((err) => {
    console.error(`simulator failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  });
} else {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(`upload benchmark failed: ${(err as Error).stack ?? err}`);
      process.exit(1);
    },
  );
}
