// Cutting a byte stream into PDUs (and P-DATA-TF bodies into PDV fragments) without re-copying what is buffered.
import { DicomError } from './dicom-error';
import { PDU_HEADER_LENGTH } from './pdu';

/** Cuts a byte stream into PDUs without re-copying what it has buffered. */
export class PduReader {
  private chunks: Buffer[] = [];
  private total = 0;

  get buffered(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Type and length of the next PDU, once its 6-byte header is here (check the length before waiting for the body). */
  header(): { type: number; length: number } | undefined {
    if (this.total < PDU_HEADER_LENGTH) return undefined;
    const head = this.chunks[0].length >= PDU_HEADER_LENGTH ? this.chunks[0] : this.copyOut(PDU_HEADER_LENGTH, false);
    return { type: head[0], length: head.readUInt32BE(2) };
  }

  /** Removes and returns the next n bytes: a view when they sit in one chunk, else one copy. */
  take(n: number): Buffer {
    const first = this.chunks[0];
    if (first.length >= n) {
      this.total -= n;
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    return this.copyOut(n, true);
  }

  /** Removes and returns up to n bytes, never copying: a view of the first buffered chunk. */
  takeUpTo(n: number): Buffer {
    const first = this.chunks[0];
    if (first.length <= n) {
      this.chunks.shift();
      this.total -= first.length;
      return first;
    }
    this.chunks[0] = first.subarray(n);
    this.total -= n;
    return first.subarray(0, n);
  }

  private copyOut(n: number, consume: boolean): Buffer {
    const out = Buffer.allocUnsafe(n);
    let offset = 0;
    let index = 0;
    while (offset < n) {
      const chunk = this.chunks[index];
      const count = Math.min(chunk.length, n - offset);
      chunk.copy(out, offset, 0, count);
      offset += count;
      if (!consume) index++;
      else if (count === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(count);
    }
    if (consume) this.total -= n;
    return out;
  }
}

/** One piece of a PDV's value as it arrived; `last` only on the piece that ends a PDV marked as its message's last fragment. */
export interface PdvFragment {
  contextId: number;
  command: boolean;
  last: boolean;
  value: Buffer;
}

/**
 * Cuts the PDVs of a P-DATA-TF PDU into fragments as its bytes arrive. A PDV split over several socket reads
 * becomes several fragments, only the final one keeping the PDV's last-fragment flag, so that a reader appending
 * each fragment to its message's stream does not see the split.
 */
export class PDataSplitter {
  private pduLeft = 0;
  private pdvLeft = 0;
  private contextId = 0;
  private control = 0;

  get inPdu(): boolean {
    return this.pduLeft > 0;
  }

  /** After the 6-byte PDU header of a P-DATA-TF: `length` body bytes follow. */
  start(length: number): void {
    this.pduLeft = length;
  }

  /** The next fragment from the buffered bytes; undefined when more bytes are needed or the PDU is done. Throws on a malformed PDV. */
  next(reader: PduReader): PdvFragment | undefined {
    if (this.pdvLeft === 0) {
      if (this.pduLeft === 0) return undefined;
      if (this.pduLeft < 6) throw new DicomError('protocol', `P-DATA-TF ends with ${this.pduLeft} bytes that cannot hold a PDV header`);
      if (reader.buffered < 6) return undefined;
      const head = reader.take(6);
      const pdvLength = head.readUInt32BE(0);
      if (pdvLength < 2 || pdvLength + 4 > this.pduLeft) throw new DicomError('protocol', `PDV of ${pdvLength} bytes in a P-DATA-TF with ${this.pduLeft - 4} bytes left for it`);
      this.contextId = head[4];
      this.control = head[5];
      this.pduLeft -= 6;
      this.pdvLeft = pdvLength - 2;
      if (this.pdvLeft === 0) return this.fragment(Buffer.alloc(0));
    }
    if (reader.buffered === 0) return undefined;
    const value = reader.takeUpTo(this.pdvLeft);
    this.pdvLeft -= value.length;
    this.pduLeft -= value.length;
    return this.fragment(value);
  }

  private fragment(value: Buffer): PdvFragment {
    return { contextId: this.contextId, command: (this.control & 1) !== 0, last: this.pdvLeft === 0 && (this.control & 2) !== 0, value };
  }
}
