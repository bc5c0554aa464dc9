/**
 * Bytes per second of busy time: bytes moved divided by the time during which at least one transfer was under way,
 * over the last `windowMs` of busy time. Overlapping transfers (upload workers, compression workers) add up, and idle
 * time (nothing to send) does not dilute the rate. The uploader measures the cloud link with it (bytes on the wire
 * while sending: upload.maxMbps and a slow link both show), the compressor its own input rate.
 */
export class BusyRate {
  private active = 0;
  private mark = 0;
  private samples: Array<{ bytes: number; ms: number }> = [];

  /** minimum: the rate is known once this many bytes or milliseconds were measured (one small transfer says little). */
  constructor(
    private readonly windowMs: number,
    private readonly minimum: { bytes: number; ms: number },
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A transfer starts. */
  begin(): void {
    if (this.active++ === 0) this.mark = this.now();
  }

  /** A transfer ended, having moved `bytes`; undefined when it says nothing about the rate (the peer was unreachable). */
  end(bytes: number | undefined): void {
    const t = this.now();
    const ms = t - this.mark;
    this.mark = t;
    this.active = Math.max(0, this.active - 1);
    if (bytes === undefined) return;
    this.samples.push({ bytes, ms });
    let total = this.samples.reduce((sum, s) => sum + s.ms, 0);
    while (this.samples.length > 1 && total - this.samples[0].ms >= this.windowMs) total -= this.samples.shift()!.ms;
  }

  /** Bytes per second, or undefined until enough was measured. */
  bytesPerSecond(): number | undefined {
    const bytes = this.samples.reduce((sum, s) => sum + s.bytes, 0);
    const ms = this.samples.reduce((sum, s) => sum + s.ms, 0);
    if ((bytes < this.minimum.bytes && ms < this.minimum.ms) || bytes === 0 || ms <= 0) return undefined;
    return bytes / (ms / 1000);
  }
}
