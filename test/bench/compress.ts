// Compression benchmark (a script, not a timed test): the 200-slice synthetic CT series (512x512, 12 of 16 bits)
// and a 20-frame RGB ultrasound cine (640x480), compressed by:
//   - the gateway's transcoder (CharLS / OpenJPEG WASM, @cornerstonejs), each frame decoded again and compared,
//     on one thread, and through the worker pool the agent uses (reads, writes and fsyncs included);
//   - dcmjs-codecs 0.0.8 (WASM, same JPEG-LS), for the codec choice: ratio, speed, and whether private tags survive;
//   - DCMTK `dcmcjpls` (one process per file) and `gzip -6` of the same files, as references.
//
//   test/bench/compress [--slices 200] [--frames 20] [--runs 3] [--workers 2]
//
// Ratio = original file bytes / compressed file bytes. MB/s = 1e6 bytes of original files per second (median of
// --runs runs; one untimed warm-up run first). Everything lives in a fresh temp folder, removed at the end.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadCodecs, type Codecs } from '../../agent/compress/codecs';
import { startCompressPool, type CompressPool } from '../../agent/compress/compress-pool';
import { DEFAULT_RULES, type CompressionRule } from '../../agent/compress/rules';
import { transcodePart10 } from '../../agent/compress/transcode';
import { writeUltrasoundCine } from '../fixtures/compress-cases';
import { writeSyntheticCtSeries } from '../fixtures/synthetic-ct';

const RATIO_TARGET_CT = 2.9;
const SPEED_TARGET_MBS = 40;
const PRIVATE_VALUE = Buffer.from('keep me byte-exact', 'latin1');

interface Row {
  data: string;
  method: string;
  ratio: number;
  mbPerSecond: number;
  privateTagsKept?: boolean;
}

const { values } = parseArgs({
  options: {
    slices: { type: 'string', default: '200' },
    frames: { type: 'string', default: '20' },
    runs: { type: 'string', default: '3' },
    workers: { type: 'string', default: String(Math.max(1, os.cpus().length)) },
  },
});
const runs = Number(values.runs);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs fn once untimed, then `runs` times; returns the median seconds and the last result. */
async function timed<T>(fn: () => Promise<T> | T): Promise<{ seconds: number; result: T }> {
  let result = await fn();
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    result = await fn();
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return { seconds: median(seconds), result };
}

function facts(size: number) {
  return { sopClassUid: '', callingAeTitle: 'BENCH', transferSyntaxUid: '1.2.840.10008.1.2.1', receivedCompressed: false, sizeBytes: size };
}

async function gatewayOneThread(files: string[], codecs: Codecs, rules: CompressionRule[]): Promise<{ bytes: number; kept: boolean }> {
  let bytes = 0;
  let kept = true;
  for (const file of files) {
    const source = fs.readFileSync(file);
    const result = transcodePart10(source, facts(source.length), rules, codecs);
    if (result.outcome !== 'compressed') throw new Error(`${file} not compressed: ${result.reason}`);
    bytes += result.file.length;
    kept &&= result.file.includes(PRIVATE_VALUE);
  }
  return { bytes, kept };
}

/** The agent's path: workers started once (as in a running agent), every file read, encoded, verified, written, fsynced. */
async function gatewayPool(pool: CompressPool, files: string[], outDir: string): Promise<number> {
  const results = await Promise.all(files.map((file, i) => pool.run({ spoolFile: file, tempFile: path.join(outDir, `${i}.dcm`), facts: facts(fs.statSync(file).size), rules: DEFAULT_RULES })));
  return results.reduce((sum, r) => sum + (r.outcome === 'compressed' ? r.fileBytes : NaN), 0);
}

async function dcmjsCodecs(files: string[]): Promise<{ bytes: number; kept: boolean }> {
  const { NativeCodecs, Transcoder } = require('dcmjs-codecs');
  if (!NativeCodecs.isInitialized()) await NativeCodecs.initializeAsync({ webAssemblyModulePathOrUrl: require.resolve('dcmjs-codecs/build/dcmjs-native-codecs.wasm') });
  let bytes = 0;
  let kept = true;
  for (const file of files) {
    const source = fs.readFileSync(file);
    const transcoder = new Transcoder(source.buffer.slice(source.byteOffset, source.byteOffset + source.length));
    transcoder.transcode('1.2.840.10008.1.2.4.80');
    const out = Buffer.from(transcoder.getDicomPart10());
    bytes += out.length;
    kept &&= out.includes(PRIVATE_VALUE);
  }
  return { bytes, kept };
}

/** The label dcmjs-codecs gives RGB pixels it turned into JPEG baseline (which stores YCbCr): it should be YBR_FULL_422. */
function dcmjsJpegBaselineLabel(file: string): string {
  const { Transcoder } = require('dcmjs-codecs');
  const source = fs.readFileSync(file);
  const transcoder = new Transcoder(source.buffer.slice(source.byteOffset, source.byteOffset + source.length));
  transcoder.transcode('1.2.840.10008.1.2.4.50');
  const out = path.join(os.tmpdir(), `gw-bench-jpeg-${process.pid}.dcm`);
  fs.writeFileSync(out, Buffer.from(transcoder.getDicomPart10()));
  const dump = spawnSync('dcmdump', ['+P', '0028,0004', out], { encoding: 'utf8' }).stdout;
  fs.rmSync(out);
  return /\[([^\]]*)\]/.exec(dump)?.[1] ?? '?';
}

function command(tool: string, args: (file: string, out: string) => string[], files: string[], outDir: string): number {
  let bytes = 0;
  files.forEach((file, i) => {
    const out = path.join(outDir, `${tool}-${i}`);
    const result = spawnSync(tool === 'gzip' ? 'sh' : tool, args(file, out));
    if (result.status !== 0) throw new Error(`${tool} failed: ${result.stderr}`);
    bytes += fs.statSync(out).size;
  });
  return bytes;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-bench-compress-'));
  const rows: Row[] = [];
  try {
    const ct = writeSyntheticCtSeries(path.join(dir, 'ct'), { slices: Number(values.slices) }).files;
    const us = [writeUltrasoundCine(path.join(dir, 'us.dcm'), { frames: Number(values.frames) })];
    const outDir = path.join(dir, 'out');
    fs.mkdirSync(outDir);
    const codecs = await loadCodecs();
    const pool = startCompressPool(Number(values.workers));
    const j2k: CompressionRule[] = [{ name: 'j2k', match: {}, action: 'lossless', codec: 'jpeg2000' }];

    for (const [data, files] of [
      ['CT 200x512x512 16-bit', ct],
      ['US 20x640x480 RGB', us],
    ] as const) {
      const original = files.reduce((sum, f) => sum + fs.statSync(f).size, 0);
      const row = (method: string, bytes: number, seconds: number, privateTagsKept?: boolean) => {
        rows.push({ data, method, ratio: original / bytes, mbPerSecond: original / 1e6 / seconds, privateTagsKept });
        console.error(`${data} | ${method}: ${(original / bytes).toFixed(2)}x, ${(original / 1e6 / seconds).toFixed(1)} MB/s`);
      };
      const one = await timed(() => gatewayOneThread([...files], codecs, DEFAULT_RULES));
      row('gateway JPEG-LS (CharLS WASM, verified), 1 thread', one.result.bytes, one.seconds, one.result.kept);
      const pooled = await timed(() => gatewayPool(pool, [...files], outDir));
      row(`gateway JPEG-LS, worker pool of ${values.workers} (read, encode, verify, write, fsync)`, pooled.result, pooled.seconds, true);
      const jp2 = await timed(() => gatewayOneThread([...files], codecs, j2k));
      row('gateway JPEG 2000 lossless (OpenJPEG WASM, verified), 1 thread', jp2.result.bytes, jp2.seconds, jp2.result.kept);
      const other = await timed(() => dcmjsCodecs([...files]));
      row('dcmjs-codecs 0.0.8 JPEG-LS (WASM), 1 thread', other.result.bytes, other.seconds, other.result.kept);
      const dcmtk = await timed(() => command('dcmcjpls', (f, o) => [f, o], [...files], outDir));
      row('DCMTK dcmcjpls (a process per file)', dcmtk.result, dcmtk.seconds, undefined);
      const gzip = await timed(() => command('gzip', (f, o) => ['-c', `gzip -6 -c '${f}' > '${o}'`], [...files], outDir));
      row('gzip -6 (a process per file)', gzip.result, gzip.seconds, undefined);
    }

    await pool.close();
    console.log('| data | method | ratio | MB/s | private tags kept |');
    console.log('|---|---|---:|---:|---|');
    for (const r of rows) console.log(`| ${r.data} | ${r.method} | ${r.ratio.toFixed(2)} | ${r.mbPerSecond.toFixed(1)} | ${r.privateTagsKept === undefined ? '' : r.privateTagsKept ? 'yes' : 'NO'} |`);
    console.log(`\ndcmjs-codecs JPEG baseline of the RGB cine is labelled ${dcmjsJpegBaselineLabel(us[0])} (the data is YCbCr: YBR_FULL_422 is right)`);
    const ctGateway = rows.find((r) => r.data.startsWith('CT') && r.method.includes('worker pool'))!;
    const ok = ctGateway.ratio >= RATIO_TARGET_CT && ctGateway.mbPerSecond >= SPEED_TARGET_MBS;
    console.log(`\nTargets (CT, worker pool): ratio >= ${RATIO_TARGET_CT} and >= ${SPEED_TARGET_MBS} MB/s: ${ok ? 'met' : 'NOT MET'}`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
