/**
 * How many upload workers may hold a connection to the cloud at once. A cloud that takes fewer parallel
 * associations than upload.workers leaves the extra connections waiting in its listen queue (no TLS handshake, no
 * A-ASSOCIATE-AC) or refuses them transiently; the worker that met that parks, and the others carry on. After
 * probeUpMs without such a refusal one parked worker tries again, so a cloud that gained room is used fully.
 */
export class CloudCapacity {
  private limit: number;
  private working: number;
  private changedAt = 0;
  /** What the cloud last said when a connection found no room. */
  lastRefusal?: string;

  constructor(
    readonly max: number,
    private readonly probeUpMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.limit = max;
    this.working = max;
  }

  /** Connections the uploader uses now. */
  get parallel(): number {
    return this.limit;
  }

  /** A worker met no room at the cloud while others were working: it parks, and the limit is what still works. */
  park(reason: string): void {
    this.working--;
    this.limit = Math.max(1, this.working);
    this.changedAt = this.now();
    this.lastRefusal = reason;
  }

  /** The cloud came back after an outage: every worker may try again. */
  reset(): void {
    this.limit = this.max;
  }

  /** Whether a parked worker may try again: when the limit has room, or one more after probeUpMs without a refusal. */
  mayResume(): boolean {
    if (this.working < this.limit) {
      this.working++;
      return true;
    }
    if (this.limit < this.max && this.now() - this.changedAt >= this.probeUpMs) {
      this.limit++;
      this.working++;
      this.changedAt = this.now();
      return true;
    }
    return false;
  }
}
