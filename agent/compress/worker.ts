import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { loadCodecs, type Codecs } from './codecs';
import { writeFileDurably } from './compressed-file';
import type { CompressionRule, InstanceFacts } from './rules';
import { transcodePart10 } from './transcode';

/** One instance for a worker: read the spool file, apply the rules, write the verified result to tempFile. */
export interface CompressJob {
  id: number;
  spoolFile: string;
  tempFile: string;
  facts: InstanceFacts;
  rules: CompressionRule[];
  /** Why lossless compression is skipped now, when it is (lossy rules still apply). */
  losslessSkipped?: string;
}

export type CompressOutcome =
  | { outcome: 'kept'; rule?: string; reason: string; warning?: boolean }
  | { outcome: 'compressed'; rule: string; transferSyntaxUid: string; fileBytes: number; datasetSha256: Buffer; lossy: boolean; pixelRatio: number };

export interface WorkerData {
  /** The codecs' WebAssembly, passed by the packaged executable (which has no node_modules to load it from). */
  wasm?: { charls: Uint8Array; openjpeg: Uint8Array };
}

/** What one job does, in whichever thread runs it. */
export function runCompressJob(job: CompressJob, codecs: Codecs): CompressOutcome {
  const result = transcodePart10(fs.readFileSync(job.spoolFile), job.facts, job.rules, codecs, job.losslessSkipped);
  if (result.outcome === 'kept') return result;
  writeFileDurably(job.tempFile, result.file);
  const { file, ...summary } = result;
  return { ...summary, fileBytes: file.length };
}

/** The worker thread's entry: codecs loaded once, then one job at a time from the pool. */
export async function runCompressionWorker(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('the compression worker must run in a worker thread');
  const codecs = await loadCodecs((workerData as WorkerData | undefined)?.wasm);
  port.on('message', (job: CompressJob) => {
    try {
      port.postMessage({ id: job.id, outcome: runCompressJob(job, codecs) });
    } catch (err) {
      port.postMessage({ id: job.id, error: (err as Error).message });
    }
  });
}
