/**
 * MLLP (HL7 v2 Minimal Lower Layer Protocol, HL7 v2.5.1 Appendix C): every message travels as
 * <VT 0x0B> message <FS 0x1C><CR 0x0D>. Our own small implementation: the maintained npm HL7 packages either
 * bring a whole client framework with them (@medplum/hl7 needs @medplum/core) or are unmaintained.
 */
export const START_BLOCK = 0x0b;
export const END_BLOCK = 0x1c;
export const CARRIAGE_RETURN = 0x0d;

/** How much of a message that is too large is kept, so that its MSH can still be read for the refusal's ACK. */
const TOO_LARGE_PREFIX_BYTES = 4096;

export type MllpEvent =
  | { kind: 'message'; data: Buffer }
  /** A frame longer than the limit: its first bytes (for the MSH), the rest was discarded up to its end. */
  | { kind: 'too-large'; prefix: Buffer; bytes: number }
  /** Bytes outside a frame, or a frame cut by a new start block or a stray end block: discarded. */
  | { kind: 'bad-framing'; reason: string };

export function frameMessage(message: Buffer): Buffer {
  return Buffer.concat([Buffer.from([START_BLOCK]), message, Buffer.from([END_BLOCK, CARRIAGE_RETURN])]);
}

/** Splits a byte stream into MLLP frames; feed it each chunk as it arrives. */
export class MllpReader {
  private parts: Buffer[] = [];
  private kept = 0;
  private total = 0;
  private inFrame = false;
  /** The last byte seen was an end block: a carriage return must follow. */
  private sawEndBlock = false;
  private junk = 0;

  constructor(private readonly maxMessageBytes: number) {}

  push(chunk: Buffer): MllpEvent[] {
    const events: MllpEvent[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.sawEndBlock) {
        this.sawEndBlock = false;
        if (chunk[at] === CARRIAGE_RETURN) {
          at++;
          events.push(this.finish());
        } else {
          this.reset();
          events.push({ kind: 'bad-framing', reason: 'an end block (0x1C) not followed by a carriage return (0x0D)' });
        }
        continue;
      }
      if (!this.inFrame) {
        const start = chunk.indexOf(START_BLOCK, at);
        const before = chunk.subarray(at, start < 0 ? chunk.length : start);
        // Line ends between frames are common (senders that add CR LF after the trailer); anything else is not MLLP.
        this.junk += before.filter((b) => b !== CARRIAGE_RETURN && b !== 0x0a).length;
        if (start < 0) break;
        if (this.junk > 0) {
          events.push({ kind: 'bad-framing', reason: `${this.junk} bytes outside an MLLP frame (no start block 0x0B)` });
          this.junk = 0;
        }
        this.inFrame = true;
        at = start + 1;
        continue;
      }
      let stop = at;
      while (stop < chunk.length && chunk[stop] !== END_BLOCK && chunk[stop] !== START_BLOCK) stop++;
      this.append(chunk.subarray(at, stop));
      if (stop === chunk.length) break;
      if (chunk[stop] === START_BLOCK) {
        events.push({ kind: 'bad-framing', reason: `a frame of ${this.total} bytes was cut by a new start block (0x0B) before its end block` });
        this.reset();
        this.inFrame = true;
      } else {
        this.sawEndBlock = true;
      }
      at = stop + 1;
    }
    return events;
  }

  /** Bytes of a frame that has started and not ended (a connection that closes now cut a message). */
  pendingBytes(): number {
    return this.inFrame ? this.total : 0;
  }

  private append(data: Buffer): void {
    if (data.length === 0) return;
    this.total += data.length;
    const room = (this.total > this.maxMessageBytes ? TOO_LARGE_PREFIX_BYTES : this.maxMessageBytes) - this.kept;
    if (room <= 0) return;
    const part = data.subarray(0, room);
    this.parts.push(part);
    this.kept += part.length;
  }

  private finish(): MllpEvent {
    const total = this.total;
    const data = Buffer.concat(this.parts);
    this.reset();
    if (total > this.maxMessageBytes) return { kind: 'too-large', prefix: data.subarray(0, TOO_LARGE_PREFIX_BYTES), bytes: total };
    return { kind: 'message', data };
  }

  private reset(): void {
    this.parts = [];
    this.kept = 0;
    this.total = 0;
    this.inFrame = false;
  }
}
