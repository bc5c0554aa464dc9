/**
 * Top-level elements of a little endian dataset held in memory (explicit or implicit VR), located by byte
 * offsets: the compressor copies every element it does not change as it is; the upload reads Storage Commitment
 * reports with it.
 */
export interface DatasetElement {
  tag: number;
  /** Absent in implicit VR. */
  vr?: string;
  start: number;
  valueStart: number;
  /** Value length; for undefined length, the bytes up to and including the sequence delimiter. */
  length: number;
  undefinedLength: boolean;
  end: number;
}

const UNDEFINED_LENGTH = 0xffffffff;
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d;
const SEQUENCE_END = 0xfffee0dd;

export function isLongVr(vr: string): boolean {
  return LONG_VRS.has(vr);
}

/** Splits buf[start, end) into elements; throws on a structure that does not add up (corrupt data). */
export function readElements(buf: Buffer, implicit: boolean, start = 0, end = buf.length): DatasetElement[] {
  const elements: DatasetElement[] = [];
  let pos = start;
  while (pos < end) {
    const element = readElement(buf, pos, implicit, end);
    elements.push(element);
    pos = element.end;
  }
  return elements;
}

/** The one element at pos. */
export function readElement(buf: Buffer, pos: number, implicit: boolean, limit: number): DatasetElement {
  if (pos + 8 > limit) throw new Error(`truncated element header at byte ${pos}`);
  const tag = ((buf.readUInt16LE(pos) << 16) | buf.readUInt16LE(pos + 2)) >>> 0;
  let vr: string | undefined;
  let valueStart: number;
  let length: number;
  if (implicit || tag >>> 16 === 0xfffe) {
    valueStart = pos + 8;
    length = buf.readUInt32LE(pos + 4);
  } else {
    vr = buf.toString('latin1', pos + 4, pos + 6);
    if (!/^[A-Z]{2}$/.test(vr)) throw new Error(`invalid VR at byte ${pos}`);
    if (LONG_VRS.has(vr)) {
      if (pos + 12 > limit) throw new Error(`truncated element header at byte ${pos}`);
      valueStart = pos + 12;
      length = buf.readUInt32LE(pos + 8);
    } else {
      valueStart = pos + 8;
      length = buf.readUInt16LE(pos + 6);
    }
  }
  if (length === UNDEFINED_LENGTH) {
    // Content of an undefined-length UN is implicit VR little endian (PS3.5 6.2.2).
    const end = skipItems(buf, valueStart, implicit || vr === 'UN', limit);
    return { tag, vr, start: pos, valueStart, length: end - valueStart, undefinedLength: true, end };
  }
  const end = valueStart + length;
  if (end > limit) throw new Error(`element ${tagText(tag)} at byte ${pos} runs past the end (${length} bytes)`);
  return { tag, vr, start: pos, valueStart, length, undefinedLength: false, end };
}

/** Walks items up to the sequence delimiter; returns the offset after it. */
function skipItems(buf: Buffer, pos: number, implicit: boolean, limit: number): number {
  while (pos + 8 <= limit) {
    const tag = ((buf.readUInt16LE(pos) << 16) | buf.readUInt16LE(pos + 2)) >>> 0;
    const length = buf.readUInt32LE(pos + 4);
    if (tag === SEQUENCE_END) return pos + 8;
    if (tag !== ITEM) throw new Error(`expected an item at byte ${pos}, found ${tagText(tag)}`);
    if (length !== UNDEFINED_LENGTH) {
      pos += 8 + length;
      continue;
    }
    pos += 8;
    for (;;) {
      if (pos + 8 > limit) throw new Error('item without delimiter');
      const inner = ((buf.readUInt16LE(pos) << 16) | buf.readUInt16LE(pos + 2)) >>> 0;
      if (inner === ITEM_END) {
        pos += 8;
        break;
      }
      pos = readElement(buf, pos, implicit, limit).end;
    }
  }
  throw new Error('sequence without delimiter');
}

/** The items of a sequence element, each as its elements (item and sequence delimiters left out). */
export function sequenceItems(buf: Buffer, sequence: DatasetElement, implicit: boolean): DatasetElement[][] {
  const items: DatasetElement[][] = [];
  // An undefined-length sequence ends with its 8-byte delimiter, which `end` includes.
  const end = sequence.undefinedLength ? sequence.end - 8 : sequence.end;
  for (let pos = sequence.valueStart; pos + 8 <= end;) {
    const tag = ((buf.readUInt16LE(pos) << 16) | buf.readUInt16LE(pos + 2)) >>> 0;
    const length = buf.readUInt32LE(pos + 4);
    if (tag !== ITEM) throw new Error(`expected an item at byte ${pos}, found ${tagText(tag)}`);
    pos += 8;
    if (length !== UNDEFINED_LENGTH) {
      items.push(readElements(buf, implicit, pos, pos + length));
      pos += length;
      continue;
    }
    const fields: DatasetElement[] = [];
    for (;;) {
      if (pos + 8 > end) throw new Error('item without delimiter');
      if (((buf.readUInt16LE(pos) << 16) | buf.readUInt16LE(pos + 2)) >>> 0 === ITEM_END) {
        pos += 8;
        break;
      }
      const field = readElement(buf, pos, implicit, end);
      fields.push(field);
      pos = field.end;
    }
    items.push(fields);
  }
  return items;
}

export function tagText(tag: number): string {
  const hex = tag.toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

/** The value of an element as text, trailing padding removed. */
export function textValue(buf: Buffer, element: DatasetElement | undefined): string | undefined {
  if (!element || element.undefinedLength) return undefined;
  return buf
    .toString('latin1', element.valueStart, element.end)
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
}

/** The first value of a US element. */
export function usValue(buf: Buffer, element: DatasetElement | undefined): number | undefined {
  if (!element || element.length < 2) return undefined;
  return buf.readUInt16LE(element.valueStart);
}

/** One explicit VR little endian element. */
export function encodeExplicit(tag: number, vr: string, value: Buffer): Buffer {
  const long = LONG_VRS.has(vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(value.length, 8);
  else header.writeUInt16LE(value.length, 6);
  return Buffer.concat([header, value]);
}

/** Text padded to even length with a space (CS, DS, ...). */
export function evenText(text: string): Buffer {
  return Buffer.from(text.length % 2 ? `${text} ` : text, 'latin1');
}
