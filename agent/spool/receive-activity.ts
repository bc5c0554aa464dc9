// When this agent last received an instance: the compressor yields the CPU to a modality that is sending.
let lastReceivedAt = 0;

/** An instance is being received (called for each C-STORE). */
export function noteReceiving(): void {
  lastReceivedAt = Date.now();
}

/** Whether an instance came within the last `ms` milliseconds. */
export function receivedWithin(ms: number): boolean {
  return Date.now() - lastReceivedAt < ms;
}
