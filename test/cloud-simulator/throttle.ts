// Reading at N Mbps, for any simulated cloud endpoint (STOW-RS here, a DICOM-TLS SCP later): the stream is paused
// whenever it runs ahead of the rate, so TCP backpressure slows the sender as a slow link would.
import type { Readable } from 'node:stream';

/** Reads `readable` to its end, calling onChunk for each chunk, no faster than getMbps() (0 = unlimited). */
export function readThrottled(readable: Readable, getMbps: () => number, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let received = 0;
    readable.on('data', (chunk: Buffer) => {
      received += chunk.length;
      onChunk(chunk);
      const mbps = getMbps();
      if (!(mbps > 0)) return;
      const due = start + (received * 8) / (mbps * 1000);
      const wait = due - performance.now();
      if (wait > 1) {
        readable.pause();
        setTimeout(() => readable.resume(), wait);
      }
    });
    readable.once('end', () => resolve());
    readable.once('error', reject);
    readable.once('close', () => resolve());
  });
}
