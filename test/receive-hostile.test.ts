// The receiver under hostile input at volume (issue 13): thousands of connections from a seeded generator, each
// random bytes, a mutated or truncated association request, an absurd PDU length, a broken P-DATA-TF, a command
// that never ends, a PDU out of turn, or a well-formed C-ECHO, while a real storescu pushes a study. The agent stays
// up, the push is not disturbed, nothing partial is kept, C-ECHO works afterwards, and resident memory stays within
// bounds: a first storm lets the heap reach its working size; a second, twice as large, may not add to it (what a
// leak of even 16 KB per connection would). Prints the figures (connections, time, RSS fresh/baseline/peak/after).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CommandField, DataSetType, encodeCommand } from '../agent/dicom/command';
import { A_RELEASE_RP, pDataPdu } from '../agent/dicom/pdu';
import { VERIFICATION_SOP_CLASS } from '../agent/dicom/uids';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';
import { createTestDatabase, query } from './helpers/database';
import { runDcmtk } from './helpers/dcmtk';
import { startGateway, type GatewayProcess } from './helpers/gateway-process';
import { verificationRequest } from './helpers/raw-association';
import { tempDir } from './helpers/temp-dir';
import { waitFor } from './helpers/wait';

const SEED = 0x13c0ffee;
/** The measured storm; a warm-up storm of half as many comes first. HOSTILE_CONNECTIONS changes it for a longer run. */
const CONNECTIONS = Number(process.env.HOSTILE_CONNECTIONS ?? 2000);
/** Hostile connections open at once, spread over source addresses so that limits.maxAssociationsPerAddress holds. */
const SOURCES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
const PER_SOURCE = 4;
/**
 * After the measured storm (and its 60-instance push) and a full collection, the agent may hold this much more than
 * after the warm-up storm (heap and buffers): a leak of 8 KB per connection would exceed it. Measured: 7-9 MB more,
 * which does not accumulate (three more storms of 2000 each: 64.6, 54.7, 55.7 MB held).
 */
const HELD_GROWTH_BOUND_MB = 16;
/** Resident memory never goes this far above the freshly started agent's (peak, sampled every 100 ms). */
const RSS_PEAK_BOUND_MB = 128;

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the agent still holds after a full garbage collection (test/helpers/gc-on-signal.cjs): heap and buffers, and RSS. */
async function collected(pid: number): Promise<{ heldMb: number; rssMb: number }> {
  const file = path.join(os.tmpdir(), `gc-${pid}.json`);
  fs.rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 100 && !fs.existsSync(file); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  const usage = JSON.parse(fs.readFileSync(file, 'utf8')) as NodeJS.MemoryUsage;
  return { heldMb: (usage.heapUsed + usage.external) / 1048576, rssMb: usage.rss / 1048576 };
}

function residentMb(pid: number): number {
  const line = fs
    .readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

const echoCommand = encodeCommand({ AffectedSOPClassUID: VERIFICATION_SOP_CLASS, CommandField: CommandField.CEchoRq, MessageID: 7, CommandDataSetType: DataSetType.Absent });

/** One hostile (or, now and then, well-behaved) conversation: the bytes to send. */
function conversation(random: () => number, aeTitle: string): { kind: string; bytes: Buffer } {
  const int = (n: number) => Math.floor(random() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const request = verificationRequest(aeTitle, 'FUZZ');
  const mutate = (buffer: Buffer) => {
    const copy = Buffer.from(buffer);
    for (let i = 0, n = 1 + int(8); i < n; i++) copy[int(copy.length)] = int(256);
    return copy;
  };
  switch (int(9)) {
    case 0:
      return { kind: 'random bytes', bytes: bytes(1 + int(4096)) };
    case 1:
      return { kind: 'truncated request', bytes: request.subarray(0, int(request.length)) };
    case 2:
      return { kind: 'mutated request', bytes: mutate(request) };
    case 3: {
      const header = Buffer.from([1 + int(7), 0, 0, 0, 0, 0]);
      header.writeUInt32BE(0xffffffff - int(1 << 20), 2);
      return { kind: 'absurd PDU length', bytes: Buffer.concat([header, bytes(int(512))]) };
    }
    case 4:
      return { kind: 'mutated P-DATA-TF', bytes: Buffer.concat([request, mutate(pDataPdu(1, echoCommand, true, true))]) };
    case 5: {
      const fragment = pDataPdu(1, bytes(16384), true, false);
      return { kind: 'command that never ends', bytes: Buffer.concat([request, ...Array.from({ length: 8 + int(16) }, () => fragment)]) };
    }
    case 6:
      return { kind: 'PDU out of turn', bytes: Buffer.concat([request, [A_RELEASE_RP, request, pDataPdu(1, echoCommand, true, true)][int(3)]]) };
    case 7:
      return { kind: 'request then garbage', bytes: Buffer.concat([request, bytes(1 + int(2048))]) };
    default:
      return { kind: 'well-formed C-ECHO', bytes: Buffer.concat([request, pDataPdu(1, echoCommand, true, true)]) };
  }
}

/** Sends the bytes from `source`, reads whatever comes back, and hangs up after at most `holdMs`. */
function run(port: number, source: string, bytes: Buffer, holdMs: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: source });
    const timer = setTimeout(() => socket.destroy(), holdMs);
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.on('connect', () => socket.write(bytes));
  });
}

/** `count` conversations over SOURCES x PER_SOURCE lanes; counts the kinds sent. */
async function storm(port: number, count: number, random: () => number, kinds: Map<string, number>): Promise<void> {
  let next = 0;
  const lanes = SOURCES.flatMap((source) =>
    Array.from({ length: PER_SOURCE }, async () => {
      while (next < count) {
        next++;
        const { kind, bytes } = conversation(random, 'HOSTILEGW');
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        await run(port, source, bytes, 50 + Math.floor(random() * 250));
      }
    }),
  );
  await Promise.all(lanes);
}

describe('hostile input at volume', () => {
  let gateway: GatewayProcess;
  let databaseUrl: string;
  let dataDir: string;
  before(async () => {
    databaseUrl = await createTestDatabase();
    dataDir = tempDir('hostile');
    gateway = await startGateway({
      dataDir,
      database: databaseUrl,
      aeTitle: 'HOSTILEGW',
      config: { limits: { minFreeDiskMb: 64, pduTimeoutSeconds: 2 } },
      nodeArgs: ['--expose-gc', '--require', path.join(__dirname, 'helpers', 'gc-on-signal.cjs')],
    });
  });
  after(() => gateway.stop());

  test(`${CONNECTIONS} seeded hostile connections while storescu pushes a study: agent up, push intact, nothing partial, memory back`, { timeout: 240_000 }, async (t) => {
    const series = writeSyntheticCtSeries(tempDir('hostile-ct'), { slices: 60, rows: 128, columns: 128 });
    const fresh = residentMb(gateway.pid);
    let peak = fresh;
    const sampler = setInterval(() => (peak = Math.max(peak, residentMb(gateway.pid))), 100);
    const random = generator(SEED);
    const kinds = new Map<string, number>();
    // Warm up as a normal day and a first storm would: a push, then half as many hostile connections.
    const warm = writeSyntheticCtSeries(tempDir('hostile-warm'), { slices: 10, rows: 128, columns: 128, seed: 9 });
    assert.equal((await runDcmtk('storescu', ['-aec', 'HOSTILEGW', '127.0.0.1', String(gateway.port), ...warm.files])).code, 0);
    await storm(gateway.port, CONNECTIONS / 2, random, kinds);
    await new Promise((resolve) => setTimeout(resolve, 6000));
    await waitFor('the warm-up instances compressed', async () => (await query(databaseUrl, "SELECT count(*)::int AS n FROM compressions WHERE state = 'pending'"))[0].n === 0, 120_000);
    const baseline = await collected(gateway.pid);

    const started = Date.now();
    const push = runDcmtk('storescu', ['-aec', 'HOSTILEGW', '127.0.0.1', String(gateway.port), ...series.files], 180_000);
    await storm(gateway.port, CONNECTIONS, random, kinds);
    const hostileSeconds = (Date.now() - started) / 1000;
    const pushed = await push;

    assert.equal(gateway.child.exitCode, null, 'the agent is still running');
    assert.equal(pushed.code, 0, `the concurrent push was not disturbed: ${pushed.stderr}`);
    const stored = await query<{ sop_instance_uid: string }>(databaseUrl, 'SELECT sop_instance_uid FROM instances');
    assert.equal(stored.length, series.files.length + warm.files.length, 'every pushed instance stored, and nothing else');
    const echo = await runDcmtk('echoscu', ['-aec', 'HOSTILEGW', '127.0.0.1', String(gateway.port)]);
    assert.equal(echo.code, 0, echo.stderr);

    // Every hostile connection has ended (each is cut off within seconds), and left no file behind; the pushed
    // study's compression (buffers it holds while it runs) is over before memory is read.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    await waitFor('the pushed instances compressed', async () => (await query(databaseUrl, "SELECT count(*)::int AS n FROM compressions WHERE state = 'pending'"))[0].n === 0, 120_000);
    const incoming = path.join(dataDir, 'spool', '.incoming');
    assert.deepEqual(fs.existsSync(incoming) ? fs.readdirSync(incoming) : [], [], 'no partial file in the incoming folder');
    clearInterval(sampler);
    const afterStorm = await collected(gateway.pid);
    t.diagnostic(
      `seed 0x${SEED.toString(16)}: ${CONNECTIONS / 2} + ${CONNECTIONS} connections, the second storm in ${hostileSeconds.toFixed(1)} s (${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}); ` +
        `RSS fresh ${fresh.toFixed(0)} MB, after the warm-up storm ${baseline.rssMb.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, after ${afterStorm.rssMb.toFixed(0)} MB; ` +
        `held after a full GC (heap + buffers): ${baseline.heldMb.toFixed(1)} MB after the warm-up storm, ${afterStorm.heldMb.toFixed(1)} MB after`,
    );
    assert.ok(afterStorm.heldMb < baseline.heldMb + HELD_GROWTH_BOUND_MB, `the agent holds ${(afterStorm.heldMb - baseline.heldMb).toFixed(1)} MB more after ${CONNECTIONS} hostile connections`);
    assert.ok(peak < fresh + RSS_PEAK_BOUND_MB, `resident memory peaked at ${peak.toFixed(0)} MB, over ${fresh.toFixed(0)} + ${RSS_PEAK_BOUND_MB} MB`);
  });
});
