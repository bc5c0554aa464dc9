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
  /** False while the link is not measured yet. */
  measured: boolean;
  reason: string;
}

/**
 * Until the compressor has measured itself: a third of this PC's JPEG-LS rate with two workers (99 MB/s on CT) and a
 * ratio of 2.5:1 where CT and MR give 2.5-3.5:1: modest, so a link is judged slow enough only when it clearly is.
 */
const ASSUMED_COMPRESS_BYTES_PER_SECOND = 40e6;
const ASSUMED_RATIO = 0.4;
/** Compression must bring instances to the cloud at least this much sooner: it costs CPU that receiving also needs. */
const CLEARLY_SOONER = 2;

/**
 * Sending as received delivers W original bytes per second (W: the link's measured rate); compressing delivers
 * min(C, W / r) (C: the compressor's rate, r: its compressed / original size). Lossless compression is chosen when
 * that is at least CLEARLY_SOONER times W: slow links compress, fast ones send as received. Before the link is
 * measured, compress: on a slow link that is where a third of the bytes matters; the first uploads measure the link
 * (the compressor hands the link instances as received while it would otherwise wait), so a fast one is known soon.
 */
export function decideLossless(figures: PaysFigures): LosslessDecision {
  const link = figures.linkBytesPerSecond;
  if (link === undefined) return { compress: true, measured: false, reason: 'on: the link is not measured yet (its first uploads measure it)' };
  const rate = figures.compressBytesPerSecond ?? ASSUMED_COMPRESS_BYTES_PER_SECOND;
  const ratio = figures.ratio ?? ASSUMED_RATIO;
  const compressed = Math.min(rate, link / ratio);
  const sooner = compressed / link;
  const assumed = figures.compressBytesPerSecond === undefined || figures.ratio === undefined ? ' (assumed until measured)' : '';
  const compressor = `${(1 / ratio).toFixed(1)}:1 at ${megabytes(rate)}${assumed}`;
  const carries = `link ${megabits(link)} carries ${megabytes(link)} as received`;
  if (sooner >= CLEARLY_SOONER) return { compress: true, measured: true, reason: `on: ${carries}; ${compressor} delivers ${megabytes(compressed)}, ${sooner.toFixed(1)}x sooner` };
  return { compress: false, measured: true, reason: `skipped: ${carries}; compressing (${compressor}) would deliver ${megabytes(compressed)}` };
}

function megabytes(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e6).toFixed(bytesPerSecond < 10e6 ? 1 : 0)} MB/s`;
}

function megabits(bytesPerSecond: number): string {
  return `${((bytesPerSecond * 8) / 1e6).toFixed(bytesPerSecond < 1.25e6 ? 1 : 0)} Mbit/s`;
}
