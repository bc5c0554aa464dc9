// Receive benchmark (a script, not a timed test): the same synthetic CT series sent by DCMTK storescu into the
// gateway (durable acknowledgement: fsync, rename, folder fsync; the rows written after the answer) and into
// DCMTK `storescp +B` (the reference receiver, which does not fsync), alternately, on one association and then on 4
// and 8 concurrent ones.
//
//   npx tsx test/bench/receive.ts [--runs 3] [--slices 200] [--concurrency 4,8] [--cpu-prof] [--compression] [--installed]
//
// Starts its own PostgreSQL unless TEST_DATABASE_URL is set. MB/s = total file bytes / wall clock from the first
// storescu start to the last storescu exit (the median of the runs); every run gets a fresh gateway and storescp,
// both writing under os.tmpdir(), and each first takes an untimed warm-up series of the same size. Last, it
// measures what the durable acknowledgement alone costs on this disk, and prints the floor for one association:
// storescp's time plus that cost per instance (storescp +B made durable), with the gateway's ratio to it, and the
// gateway's total on 4 and 8 associations against one. Each run also reports the CPU time (user + system, all
// threads, from /proc) the gateway and its PostgreSQL server spent per instance: unlike MB/s, little moved by
// other load on the machine.
// --cpu-prof runs the gateway under `node --cpu-prof` and summarises, for each number of associations, where its main
// thread spent the transfers.
// The receive path is measured with compression off; --compression leaves it on (its workers then compete with
// receiving for this machine's two cores, as in a running agent). --installed adds, on one association in each run,
// the gateway as installed (compression on, its default) and prints its ratio to compression off.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { freePort } from '../../agent/db/embedded-postgres';
import { migrate } from '../../agent/db/migrate';
import { recordInstances } from '../../agent/studies/record-instance';
import { consoleLogger } from '../../agent/logging';
import { ctInstanceRecord, sha256 } from '../fixtures/instance-record';
import { writeSyntheticCtSeries } from '../fixtures/synthetic-ct';
import { createTestDatabase, dropTestDatabases, ensureTestPostgres, query } from '../helpers/database';
import { runDcmtk, waitForPort } from '../helpers/dcmtk';
import { startGateway } from '../helpers/gateway-process';

interface Options {
  runs: number;
  slices: number;
  concurrency: number[];
  cpuProf: boolean;
  compression: boolean;
  installed: boolean;
}

interface Row {
  associations: number;
  gatewaySeconds: number[];
  storescpSeconds: number[];
  peakRssBytes: number[];
  cpuMsPerInstance: number[];
  postgresCpuMsPerInstance: number[];
  /** CPU time of the storescu senders (they share this machine's cores with the receiver). */
  senderCpuMsPerInstance: number[];
  /** The share of this machine's CPU time (all cores) that was busy during the transfer. */
  machineBusy: number[];
  /** --installed, one association: the gateway with compression on (its default). */
  installedSeconds: number[];
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string', default: '3' },
      slices: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '4,8' },
      'cpu-prof': { type: 'boolean', default: false },
      compression: { type: 'boolean', default: false },
      installed: { type: 'boolean', default: false },
    },
  });
  return {
    runs: Math.max(1, Number(values.runs)),
    slices: Number(values.slices),
    concurrency: values.concurrency!.split(',').filter(Boolean).map(Number),
    cpuProf: values['cpu-prof']!,
    compression: values.compression!,
    installed: values.installed!,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const nowMicros = () => Number(process.hrtime.bigint() / 1000n);

/** Splits the files into n contiguous parts and runs one storescu per part, all at once; resolves to seconds. */
async function sendAll(files: string[], parts: number, port: number, aeTitle: string): Promise<{ seconds: number; start: number; end: number }> {
  const size = Math.ceil(files.length / parts);
  const groups = Array.from({ length: parts }, (_, i) => files.slice(i * size, (i + 1) * size)).filter((g) => g.length > 0);
  const start = nowMicros();
  const results = await Promise.all(groups.map((group) => runDcmtk('storescu', ['-aet', 'BENCH', '-aec', aeTitle, '127.0.0.1', String(port), ...group], 600000)));
  const end = nowMicros();
  for (const result of results) {
    if (result.code !== 0 || /Store Failed|Status: [^0]/i.test(result.stderr)) throw new Error(`storescu failed (code ${result.code}): ${result.stderr.slice(-2000)}`);
  }
  return { seconds: (end - start) / 1e6, start, end };
}

/** Databases of this run, dropped at the end (dropping deletes files, which would slow the next run's creates). */
const databases: string[] = [];

async function newDatabase(): Promise<string> {
  const url = await createTestDatabase();
  databases.push(url);
  return url;
}

async function gatewayRun(
  root: string,
  files: string[],
  warmUp: string[],
  parts: number,
  profileDir: string | undefined,
  compression: boolean,
): Promise<{ seconds: number; peakRss: number; cpuMsPerInstance: number; postgresCpuMsPerInstance: number; senderCpuMsPerInstance: number; machineBusy: number; window: [number, number] }> {
  const dataDir = fs.mkdtempSync(path.join(root, 'gateway-'));
  const database = await newDatabase();
  const gateway = await startGateway({
    dataDir,
    database,
    config: { limits: { minFreeDiskMb: 64, maxAssociations: Math.max(32, parts) }, compression: { enabled: compression } },
    nodeArgs: profileDir ? ['--cpu-prof', '--cpu-prof-interval=200', `--cpu-prof-dir=${profileDir}`] : [],
  });
  try {
    await sendAll(warmUp, 1, gateway.port, gateway.aeTitle);
    const postmaster = await postmasterPid(database);
    const cpuBefore = cpuSeconds(gateway.pid);
    const postgresBefore = postgresCpuSeconds(postmaster);
    const sendersBefore = childrenCpuSeconds();
    const machineBefore = machineTicks();
    const { seconds, start, end } = await sendAll(files, parts, gateway.port, gateway.aeTitle);
    const machineAfter = machineTicks();
    const cpuMsPerInstance = ((cpuSeconds(gateway.pid) - cpuBefore) * 1000) / files.length;
    const postgresCpuMsPerInstance = ((postgresCpuSeconds(postmaster) - postgresBefore) * 1000) / files.length;
    // The storescu processes are this script's children, reaped by now; the gateway is not reaped until it stops.
    const senderCpuMsPerInstance = ((childrenCpuSeconds() - sendersBefore) * 1000) / files.length;
    const machineBusy = 1 - (machineAfter.idle - machineBefore.idle) / (machineAfter.total - machineBefore.total);
    // bin/gateway.js runs the agent in the node process itself, so the child's high-water mark is the agent's.
    const status = fs.readFileSync(`/proc/${gateway.pid}/status`, 'utf8');
    const peakRss = Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
    const [{ count }] = await query<{ count: string }>(database, 'SELECT count(*) FROM instances');
    if (Number(count) !== files.length + warmUp.length) throw new Error(`gateway indexed ${count} instances, expected ${files.length + warmUp.length}`);
    return { seconds, peakRss, cpuMsPerInstance, postgresCpuMsPerInstance, senderCpuMsPerInstance, machineBusy, window: [start, end] };
  } finally {
    await gateway.stop();
  }
}

/** CPU time (user + system) a process has used so far: unlike wall time, barely moved by other load on the machine. */
function cpuSeconds(pid: number): number {
  const stat = procStat(pid);
  return (stat[11] + stat[12]) / 100;
}

/** CPU time (user + system) of this script's children that have exited and been reaped. */
function childrenCpuSeconds(): number {
  const stat = procStat(process.pid);
  return (stat[13] + stat[14]) / 100;
}

/** Clock ticks of all CPUs since boot, and those idle or waiting for I/O (/proc/stat). */
function machineTicks(): { total: number; idle: number } {
  const ticks = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { total: ticks.reduce((sum, t) => sum + t, 0), idle: ticks[3] + ticks[4] };
}

/** The fields of /proc/<pid>/stat after the command name (field 3, the state, first): [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime. */
function procStat(pid: number): number[] {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text
    .slice(text.lastIndexOf(') ') + 2)
    .split(' ')
    .map(Number);
}

/** The PostgreSQL server the gateway uses (the test server: it runs on this machine), as the parent of a backend. */
async function postmasterPid(database: string): Promise<number> {
  const client = new pg.Client({ connectionString: database });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return procStat(rows[0].pid)[1];
  } finally {
    await client.end();
  }
}

/**
 * CPU time of the whole PostgreSQL server: the postmaster and its children (backends, WAL writer, checkpointer...)
 * alive now. The gateway's backends live as long as its pool, so the difference over a transfer is its cost.
 */
function postgresCpuSeconds(postmaster: number): number {
  let ticks = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = procStat(Number(entry));
      if (Number(entry) === postmaster || stat[1] === postmaster) ticks += stat[11] + stat[12];
    } catch {
      // The process exited while we looked.
    }
  }
  return ticks / 100;
}

async function storescpRun(root: string, files: string[], warmUp: string[], parts: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(root, 'storescp-'));
  const port = await freePort();
  // storescp serves one association at a time; --fork gives each association its own process.
  const args = ['+xa', '-pm', '+B', ...(parts > 1 ? ['--fork'] : []), '-aet', 'REFERENCE', '-od', dir, String(port)];
  const child = spawn('storescp', args, { env: { ...process.env, TCP_NODELAY: '1' }, stdio: 'ignore', detached: true });
  try {
    await waitForPort(port);
    await sendAll(warmUp, 1, port, 'REFERENCE');
    const { seconds } = await sendAll(files, parts, port, 'REFERENCE');
    const kept = fs.readdirSync(dir).length;
    if (kept !== files.length + warmUp.length) throw new Error(`storescp kept ${kept} files, expected ${files.length + warmUp.length}`);
    return seconds;
  } finally {
    // The whole process group: with --fork, children of finished associations may still be exiting.
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  }
}

const fsync = (fd: number) => new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));

/**
 * The durable acknowledgement's file work for one instance, in the gateway's order: write the temp file, its fsync
 * (`meanwhile` runs as it starts, as the gateway hashes then), rename, the folder's fsync. Resolves to the times the
 * write, the fsync and the folder's fsync ended.
 */
async function writeDurably(bytes: Buffer, temp: string, final: string, meanwhile = () => {}): Promise<{ written: number; synced: number; placed: number }> {
  const fd = fs.openSync(temp, 'w');
  fs.writeSync(fd, bytes);
  const written = performance.now();
  meanwhile();
  await fsync(fd).finally(() => fs.closeSync(fd));
  const synced = performance.now();
  fs.renameSync(temp, final);
  const dir = fs.openSync(path.dirname(final), 'r');
  await fsync(dir).finally(() => fs.closeSync(dir));
  return { written, synced, placed: performance.now() };
}

/**
 * What the durable acknowledgement alone costs on this disk, per instance and with no network, in the gateway's
 * order: write the file; its fsync; rename; the folder's fsync (the answer goes here); then the rows, which the
 * gateway writes after answering. Returns the fsync, the rename and folder fsync, and the rows, in ms per instance.
 */
async function durableFloor(root: string, files: string[]): Promise<{ fsync: number; place: number; record: number }> {
  const database = await newDatabase();
  const pool = new pg.Pool({ connectionString: database, max: 2 });
  // pool.end() does not wait for the sockets to close: one may yet hear the server stop, which is no error here.
  pool.on('error', () => undefined);
  const incoming = fs.mkdtempSync(path.join(root, 'floor-'));
  const folder = fs.mkdtempSync(path.join(root, 'floor-kept-'));
  const totals = { fsync: 0, place: 0, record: 0 };
  try {
    await migrate(pool, consoleLogger('warn'));
    for (const [i, file] of files.entries()) {
      const bytes = fs.readFileSync(file);
      let hash: Buffer = Buffer.alloc(0);
      const { written, synced, placed } = await writeDurably(bytes, path.join(incoming, `${i}.part`), path.join(folder, `${i}.dcm`), () => (hash = sha256(bytes)));
      await recordInstances(pool, [
        ctInstanceRecord(`2.25.${i + 1}`, { seriesUid: '2.25.0.1', studyUid: '2.25.0.2', spoolPath: `floor/${i}.dcm`, fileBytes: bytes.length, datasetSha256: hash, callingAe: 'BENCH' }),
      ]);
      totals.fsync += synced - written;
      totals.place += placed - synced;
      totals.record += performance.now() - placed;
    }
  } finally {
    await pool.end();
  }
  return { fsync: totals.fsync / files.length, place: totals.place / files.length, record: totals.record / files.length };
}

/**
 * The durable acknowledgement's file work alone (no network, no rows) with this many concurrent writers, as many
 * associations would do it: ms of wall clock per instance.
 */
async function durableFileWork(root: string, files: string[], writers: number): Promise<number> {
  const incoming = fs.mkdtempSync(path.join(root, 'floor-'));
  const folder = fs.mkdtempSync(path.join(root, 'floor-kept-'));
  let next = 0;
  const writer = async () => {
    for (let i = next++; i < files.length; i = next++) await writeDurably(fs.readFileSync(files[i]), path.join(incoming, `${i}.part`), path.join(folder, `${i}.dcm`));
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: writers }, writer));
  return (performance.now() - start) / files.length;
}

// --- CPU profile summary -------------------------------------------------------------------------------------

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const CATEGORIES: Array<[string, (frame: ProfileNode['callFrame']) => boolean]> = [
  ['idle', (f) => f.functionName === '(idle)'],
  ['GC', (f) => f.functionName === '(garbage collector)'],
  ['crypto hash', (f) => f.url.includes('internal/crypto')],
  ['dcmjs-dimse (with dcmjs and its other deps)', (f) => /node_modules\/(dcmjs|dcmjs-dimse|memorystream|smart-buffer|ts-mixer|async-event-emitter2)\//.test(f.url)],
  ['pg', (f) => /node_modules\/(pg|pg-protocol|pg-pool)\//.test(f.url)],
  ['fs/io', (f) => /node:fs|internal\/fs\//.test(f.url)],
  ['net/streams', (f) => /node:net|internal\/(stream_base_commons|streams\/|net)/.test(f.url)],
  ['logging', (f) => /node_modules\/(winston|logform|winston-daily-rotate-file)/.test(f.url)],
  ['agent code', (f) => f.url.includes('/agent/')],
  ['node: buffers, events, ticks', (f) => f.url.startsWith('node:')],
  ['(program)', (f) => f.functionName === '(program)'],
];

/** Self time per function and per category, for the samples taken inside the transfer windows. */
function summariseProfiles(associations: number, files: string[], windows: Array<[number, number]>): void {
  const byFunction = new Map<string, number>();
  const byCategory = new Map<string, number>();
  let total = 0;
  files.forEach((file, index) => {
    const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const parents = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
    const categoryOf = (id: number): string => {
      // Native frames (no URL) take the category of their nearest JavaScript caller.
      for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
        const frame = nodes.get(at)!.callFrame;
        const match = CATEGORIES.find(([, test]) => test(frame));
        if (match) return match[0];
        if (frame.url) return 'other';
      }
      return 'other';
    };
    const [from, to] = windows[index];
    let time = profile.startTime;
    profile.samples.forEach((id, i) => {
      time += profile.timeDeltas[i];
      const delta = profile.timeDeltas[i + 1] ?? 0;
      if (time < from || time > to) return;
      const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
      const where = url ? `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(agent|test)\//, '$1/')}:${lineNumber + 1}` : '(native)';
      const key = `${functionName || '(anonymous)'}  ${where}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + delta);
      const category = categoryOf(id);
      byCategory.set(category, (byCategory.get(category) ?? 0) + delta);
      total += delta;
    });
  });
  if (total === 0) {
    console.log('\nno profile samples fell inside the transfer windows');
    return;
  }
  const line = (ms: number, label: string) => `${(ms / 1000).toFixed(0).padStart(7)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${label}`;
  console.log(`\nGateway main thread during the transfers on ${associations} association(s) (${files.length} run(s), ${(total / 1000).toFixed(0)} ms sampled)`);
  console.log('Top 15 functions by self time:');
  for (const [key, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(line(us, key));
  console.log('By category (native frames counted with their caller):');
  for (const [key, us] of [...byCategory].sort((a, b) => b[1] - a[1])) console.log(line(us, key));
}

// --- main ----------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  // Every run's folders stay until the end (just after mass deletion ext4 is slow to create files: it skips
  // recently freed inodes), and each run's writeback is flushed before the next starts: neither taxes the next run.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-bench-receive-'));
  const externalDatabase = Boolean(process.env.TEST_DATABASE_URL);
  let stopDatabase = async () => {};
  try {
    stopDatabase = await ensureTestPostgres(root);
    const series = writeSyntheticCtSeries(path.join(root, 'series'), { slices: options.slices });
    // Each receiver first takes another series of the same size on its own association, untimed: the agent's JIT
    // is then warm, as in an agent that has been running for a while.
    const warmUp = writeSyntheticCtSeries(path.join(root, 'warm-up'), { slices: options.slices, seed: 2 }).files;
    // The fixtures' own writeback must not compete with the first run.
    spawnSync('sync');
    const totalBytes = series.files.reduce((sum, file) => sum + fs.statSync(file).size, 0);
    console.log(
      `${series.files.length} CT files, ${(totalBytes / 1e6).toFixed(1)} MB; ${options.runs} runs each, gateway and storescp alternately, each after an untimed warm-up series; compression ${options.compression ? 'on' : 'off'}; temp dir ${root}`,
    );

    // Rounds: each runs every concurrency in turn, so that one association and eight are measured minutes apart at
    // most, in the same state of this VM's disk and neighbours, not one phase after the other.
    const rows: Row[] = [...new Set([1, ...options.concurrency])].map((associations) => ({
      associations,
      gatewaySeconds: [],
      storescpSeconds: [],
      peakRssBytes: [],
      cpuMsPerInstance: [],
      postgresCpuMsPerInstance: [],
      senderCpuMsPerInstance: [],
      machineBusy: [],
      installedSeconds: [],
    }));
    const profiles = new Map<number, { files: string[]; windows: Array<[number, number]> }>();
    for (let run = 0; run < options.runs; run++) {
      for (const row of rows) {
        const { associations } = row;
        const profileDir = options.cpuProf ? fs.mkdtempSync(path.join(root, 'profile-')) : undefined;
        const gateway = await gatewayRun(root, series.files, warmUp, associations, profileDir, options.compression);
        spawnSync('sync');
        if (profileDir) {
          const profile = profiles.get(associations) ?? { files: [], windows: [] };
          profiles.set(associations, profile);
          for (const file of fs.readdirSync(profileDir)) {
            profile.files.push(path.join(profileDir, file));
            profile.windows.push(gateway.window);
          }
        }
        const storescp = await storescpRun(root, series.files, warmUp, associations);
        spawnSync('sync');
        row.gatewaySeconds.push(gateway.seconds);
        row.peakRssBytes.push(gateway.peakRss);
        row.cpuMsPerInstance.push(gateway.cpuMsPerInstance);
        row.postgresCpuMsPerInstance.push(gateway.postgresCpuMsPerInstance);
        row.senderCpuMsPerInstance.push(gateway.senderCpuMsPerInstance);
        row.machineBusy.push(gateway.machineBusy);
        row.storescpSeconds.push(storescp);
        const rate = (seconds: number) => (totalBytes / 1e6 / seconds).toFixed(1);
        if (options.installed && associations === 1) {
          const installed = await gatewayRun(root, series.files, warmUp, 1, undefined, true);
          spawnSync('sync');
          row.installedSeconds.push(installed.seconds);
          console.log(`  1 assoc run ${run + 1}: gateway as installed (compression on) ${installed.seconds.toFixed(2)} s (${rate(installed.seconds)} MB/s)`);
        }
        console.log(
          `  ${associations} assoc run ${run + 1}: gateway ${gateway.seconds.toFixed(2)} s (${rate(gateway.seconds)} MB/s, CPU ${gateway.cpuMsPerInstance.toFixed(2)} ms/instance + PostgreSQL ${gateway.postgresCpuMsPerInstance.toFixed(2)} + senders ${gateway.senderCpuMsPerInstance.toFixed(2)}, machine ${(100 * gateway.machineBusy).toFixed(0)}% busy, peak RSS ${(gateway.peakRss / 1048576).toFixed(0)} MiB), storescp ${storescp.toFixed(2)} s (${rate(storescp)} MB/s)`,
        );
      }
    }

    const mbps = (seconds: number) => totalBytes / 1e6 / seconds;
    console.log(`\nMedian of ${options.runs} runs${options.cpuProf ? ' (gateway under --cpu-prof: slower than usual)' : ''}; storescp with --fork when concurrent`);
    console.log('associations  gateway MB/s  storescp MB/s  ratio  CPU ms/instance: gateway  PostgreSQL  senders  machine busy  gateway peak RSS (highest run)');
    for (const row of rows) {
      const gateway = mbps(median(row.gatewaySeconds));
      const storescp = mbps(median(row.storescpSeconds));
      console.log(
        `${String(row.associations).padStart(12)}  ${gateway.toFixed(1).padStart(12)}  ${storescp.toFixed(1).padStart(13)}  ${(gateway / storescp).toFixed(2).padStart(5)}  ${median(row.cpuMsPerInstance).toFixed(2).padStart(24)}  ${median(row.postgresCpuMsPerInstance).toFixed(2).padStart(10)}  ${median(row.senderCpuMsPerInstance).toFixed(2).padStart(7)}  ${(100 * median(row.machineBusy)).toFixed(0).padStart(11)}%  ${(Math.max(...row.peakRssBytes) / 1048576).toFixed(0).padStart(12)} MiB`,
      );
    }
    const one = mbps(median(rows[0].gatewaySeconds));
    for (const row of rows.slice(1)) {
      // Also per round (each against the one association measured just before it), which this VM's drift moves less.
      const perRound = row.gatewaySeconds.map((seconds, run) => rows[0].gatewaySeconds[run] / seconds);
      console.log(
        `${row.associations} associations: gateway ${(mbps(median(row.gatewaySeconds)) / one).toFixed(2)}x its one-association total (medians); per round ${perRound.map((r) => r.toFixed(2)).join(', ')}, median ${median(perRound).toFixed(2)}x`,
      );
    }
    if (options.installed) {
      const installed = mbps(median(rows[0].installedSeconds));
      const off = mbps(median(rows[0].gatewaySeconds));
      console.log(`\nOne association, as installed (compression on): ${installed.toFixed(1)} MB/s, ${(installed / off).toFixed(2)}x compression off (${off.toFixed(1)} MB/s)`);
    }
    const floor = await durableFloor(root, series.files);
    console.log(
      `\nDurable acknowledgement alone on this disk, no network: fsync ${floor.fsync.toFixed(2)} ms, rename and folder fsync ${floor.place.toFixed(2)} ms, then (after the answer) the rows ${floor.record.toFixed(2)} ms per instance.`,
    );
    // The floor for one association: storescp +B's transfer, plus what making each instance durable costs at least.
    const floorSeconds = median(rows[0].storescpSeconds) + (series.files.length * (floor.fsync + floor.place)) / 1000;
    console.log(
      `Floor for one association (storescp +B plus fsync, rename and folder fsync per instance): ${mbps(floorSeconds).toFixed(1)} MB/s; gateway ${one.toFixed(1)} MB/s = ${(one / mbps(floorSeconds)).toFixed(2)}x the floor.`,
    );
    // What the disk allows concurrent associations: the same file work from as many writers at once.
    if (rows.length > 1) {
      const alone = await durableFileWork(root, series.files, 1);
      const scaling = [];
      for (const row of rows.slice(1)) scaling.push(`${row.associations} writers ${(alone / (await durableFileWork(root, series.files, row.associations))).toFixed(2)}x`);
      console.log(`Durable file work alone (write, fsync, rename, folder fsync) from concurrent writers, against one writer (${alone.toFixed(2)} ms/instance): ${scaling.join(', ')}.`);
    }
    for (const [associations, { files, windows }] of profiles) summariseProfiles(associations, files, windows);
  } finally {
    if (externalDatabase) await dropTestDatabases(databases.splice(0));
    await stopDatabase();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`receive benchmark failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
