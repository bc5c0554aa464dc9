import zlib from 'node:zlib';
import { isBigEndian, isDeflated, isImplicitVr } from './transfer-syntax';

/** The few top-level attributes the gateway indexes; all sit before (0020,000F), so parsing stops early. */
export interface DatasetHeader {
  sopClassUid?: string;
  sopInstanceUid?: string;
  modality?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
}

const WANTED: Record<number, keyof DatasetHeader> = {
  0x00080016: 'sopClassUid',
  0x00080018: 'sopInstanceUid',
  0x00080060: 'modality',
  0x0020000d: 'studyInstanceUid',
  0x0020000e: 'seriesInstanceUid',
};
const LAST_WANTED_TAG = 0x0020000e;
const UNDEFINED_LENGTH = 0xffffffff;
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d;
const SEQUENCE_END = 0xfffee0dd;

/**
 * Reads the indexed attributes from a dataset as it streams past, without holding it: only the bytes of the
 * current element header are buffered, values of other elements are skipped by count. Sequences and items of
 * undefined length are walked to their delimiters. Deflated datasets are inflated only as far as needed.
 */
export class DatasetHeaderReader {
  readonly header: DatasetHeader = {};
  private pending: Buffer = Buffer.alloc(0);
  private skip = 0;
  private offset = 0;
  private done = false;
  private problem: string | undefined;
  // One entry per open undefined-length sequence or item; elements inside are not top level.
  private depth = 0;
  // Explicit VR UN of undefined length holds implicit VR little endian content (PS3.5 6.2.2).
  private implicitDepth: number | undefined;
  private readonly implicit: boolean;
  private readonly bigEndian: boolean;
  private readonly inflater: zlib.InflateRaw | undefined;

  constructor(transferSyntaxUid: string) {
    this.implicit = isImplicitVr(transferSyntaxUid);
    this.bigEndian = isBigEndian(transferSyntaxUid);
    if (isDeflated(transferSyntaxUid)) {
      this.inflater = zlib.createInflateRaw();
      this.inflater.on('data', (chunk: Buffer) => this.parse(chunk));
      this.inflater.on('error', (err) => this.fail(`deflated dataset cannot be inflated: ${err.message}`));
    }
  }

  /** Feeds the next bytes of the dataset, as sent. */
  push(chunk: Buffer): void {
    if (this.done) return;
    if (this.inflater) this.inflater.write(chunk);
    else this.parse(chunk);
  }

  /** Waits for inflation to catch up and reports what was found; a structural problem is returned, not thrown. */
  async finish(): Promise<{ header: DatasetHeader; problem?: string }> {
    if (this.inflater && !this.done) {
      await new Promise<void>((resolve) => {
        this.inflater!.once('end', resolve);
        this.inflater!.once('error', () => resolve());
        this.inflater!.end();
      });
    }
    this.inflater?.destroy();
    return { header: this.header, problem: this.problem };
  }

  private fail(problem: string): void {
    this.problem ??= problem;
    this.stop();
  }

  /** fail() for the element parser, which answers how many bytes it consumed. */
  private failed(problem: string): 0 {
    this.fail(problem);
    return 0;
  }

  private stop(): void {
    this.done = true;
    this.pending = Buffer.alloc(0);
    if (this.inflater) this.inflater.removeAllListeners('data');
  }

  private parse(chunk: Buffer): void {
    if (this.done) return;
    if (this.skip > 0) {
      const skipped = Math.min(this.skip, chunk.length);
      this.skip -= skipped;
      this.offset += skipped;
      chunk = chunk.subarray(skipped);
      if (chunk.length === 0) return;
    }
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    while (!this.done) {
      const consumed = this.element(buf, pos);
      if (consumed === 0) break; // need more bytes
      pos += consumed;
      if (this.skip > 0) {
        const skipped = Math.min(this.skip, buf.length - pos);
        this.skip -= skipped;
        pos += skipped;
        if (this.skip > 0) break;
      }
    }
    this.offset += pos;
    if (!this.done) this.pending = Buffer.from(buf.subarray(pos));
    buf = Buffer.alloc(0);
  }

  /** Parses one element header (and a wanted value) at pos; returns bytes consumed, or 0 when more are needed. */
  private element(buf: Buffer, pos: number): number {
    if (buf.length - pos < 8) return 0;
    const implicit = this.implicit || this.implicitDepth !== undefined;
    const bigEndian = this.bigEndian && !implicit;
    const group = bigEndian ? buf.readUInt16BE(pos) : buf.readUInt16LE(pos);
    const elementNumber = bigEndian ? buf.readUInt16BE(pos + 2) : buf.readUInt16LE(pos + 2);
    const tag = ((group << 16) | elementNumber) >>> 0;
    const read32 = (at: number) => (bigEndian ? buf.readUInt32BE(at) : buf.readUInt32LE(at));

    // Delimiters and item headers are always tag + 4-byte length, in the dataset's byte order.
    if (group === 0xfffe) {
      const length = read32(pos + 4);
      if (tag === ITEM) {
        if (this.depth === 0) return this.failed(`item tag outside a sequence at byte ${this.offset + pos}`);
        if (length === UNDEFINED_LENGTH) this.depth++;
        else this.skip = length;
      } else if (tag === ITEM_END || tag === SEQUENCE_END) {
        if (this.depth === 0) return this.failed(`delimiter outside a sequence at byte ${this.offset + pos}`);
        this.depth--;
        if (this.implicitDepth !== undefined && this.depth < this.implicitDepth) this.implicitDepth = undefined;
      } else {
        return this.failed(`unexpected tag (FFFE,${elementNumber.toString(16)}) at byte ${this.offset + pos}`);
      }
      return 8;
    }

    let vr: string | undefined;
    let headerLength: number;
    let length: number;
    if (implicit) {
      headerLength = 8;
      length = read32(pos + 4);
    } else {
      vr = buf.toString('latin1', pos + 4, pos + 6);
      if (!/^[A-Z]{2}$/.test(vr)) return this.failed(`invalid VR at byte ${this.offset + pos}`);
      if (LONG_VRS.has(vr)) {
        if (buf.length - pos < 12) return 0;
        headerLength = 12;
        length = read32(pos + 8);
      } else {
        headerLength = 8;
        length = bigEndian ? buf.readUInt16BE(pos + 6) : buf.readUInt16LE(pos + 6);
      }
    }

    if (this.depth === 0 && tag > LAST_WANTED_TAG) {
      this.stop();
      return headerLength;
    }
    if (length === UNDEFINED_LENGTH) {
      // A sequence (or UN / encapsulated data) of undefined length: walk into it.
      this.depth++;
      if (vr === 'UN' && this.implicitDepth === undefined) this.implicitDepth = this.depth;
      return headerLength;
    }
    const field = this.depth === 0 ? WANTED[tag] : undefined;
    if (field) {
      if (length > 1024) return this.failed(`attribute ${tagName(tag)} has an implausible length ${length}`);
      if (buf.length - pos < headerLength + length) return 0;
      this.header[field] = buf
        .toString('latin1', pos + headerLength, pos + headerLength + length)
        .replace(/[\0 ]+$/, '')
        .replace(/^ +/, '');
      return headerLength + length;
    }
    this.skip = length;
    return headerLength;
  }
}

function tagName(tag: number): string {
  const hex = tag.toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}
