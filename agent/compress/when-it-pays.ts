/** What a lossless compression is weighed with: measured figures, undefined until measured. */
export interface PaysFigures {
  /** The cloud link: bytes on the wire per second while sending (undefined until measured; absent: no cloud). */
  linkBytesPerSecond?: number;
  /** The compressor: original bytes per second it compresses with its workers. */
  compressBytesPerSecond?: number;
  /** Compressed / original file bytes of recent lossless compressions. */
  ratio?: number;
}

/** Whether lossless rules compress now, and why, in words `gateway status` and the compressions rows show. */
export interface LosslessDecision {
  compress: boolean;
  /** Whether the link is measured: a measured link where compressing pays gets one worker even while receiving. */
  linkMeasured: boolean;
  reason: string;
}

/** Compression must bring instances to the cloud at least this much sooner: it costs CPU that receiving also needs. */
const CLEARLY_SOONER = 2;

/**
 * Sending as received delivers W original bytes per second (W: the link's measured rate); compressing delivers
 * min(C, W / r) (C: the compressor's measured rate, r: its compressed / original size). Lossless compression is
 * chosen when that is at least CLEARLY_SOONER times W: slow links compress, fast ones send as received.
 * Until all three are measured, compress as the rules say: on a slow link a third of the bytes is what matters, and
 * compressing is what measures C and r; while compression yields to receiving, a probe's worth of instances goes as
 * received, which measures W. No assumed figures: this PC, its load and
 * its cloud decide.
 */
export function decideLossless(figures: PaysFigures): LosslessDecision {
  const { linkBytesPerSecond: link, compressBytesPerSecond: rate, ratio } = figures;
  if (link === undefined || rate === undefined || ratio === undefined) {
    const missing = [link === undefined ? 'the link' : undefined, rate === undefined || ratio === undefined ? 'the compressor' : undefined].filter(Boolean).join(' and ');
    return { compress: true, linkMeasured: link !== undefined, reason: `on: ${missing} not measured yet (compressing as the rules say until then)` };
  }
  const compressed = Math.min(rate, link / ratio);
  const sooner = compressed / link;
  const compressor = `${(1 / ratio).toFixed(1)}:1 at ${megabytes(rate)}`;
  const carries = `link ${megabits(link)} carries ${megabytes(link)} as received`;
  if (sooner >= CLEARLY_SOONER) return { compress: true, linkMeasured: true, reason: `on: ${carries}; ${compressor} delivers ${megabytes(compressed)}, ${sooner.toFixed(1)}x sooner` };
  return { compress: false, linkMeasured: true, reason: `skipped: ${carries}; compressing (${compressor}) would deliver ${megabytes(compressed)}` };
}

function megabytes(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e6).toFixed(bytesPerSecond < 10e6 ? 1 : 0)} MB/s`;
}

function megabits(bytesPerSecond: number): string {
  return `${((bytesPerSecond * 8) / 1e6).toFixed(bytesPerSecond < 1.25e6 ? 1 : 0)} Mbit/s`;
}
