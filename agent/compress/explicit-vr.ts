import { encodeExplicit, readElement, readElements, tagText, type DatasetElement } from '../spool/dataset-elements';

const UNDEFINED_LENGTH = 0xffffffff;
const ITEM = 0xfffee000;

type Dictionary = Record<string, { vr: string } | undefined>;
let dictionary: Dictionary | undefined;

/** dcmjs's data dictionary, loaded on first use (only implicit VR sources need it). */
function dataDictionary(): Dictionary {
  dictionary ??= (require('dcmjs') as { data: { DicomMetaDictionary: { dictionary: Dictionary } } }).data.DicomMetaDictionary.dictionary;
  return dictionary;
}

/**
 * Re-encodes one element of an implicit VR little endian dataset in explicit VR little endian, as compressed
 * transfer syntaxes require. Values keep their bytes; only element headers gain a VR (and sequence lengths follow).
 * Private and unknown elements become UN, whose undefined-length content stays implicit VR, byte for byte
 * (PS3.5 6.2.2), so private sequences survive untouched.
 */
export function implicitToExplicit(buf: Buffer, element: DatasetElement, signedPixels: boolean): Buffer {
  const vr = vrOf(element.tag, signedPixels);
  const value = buf.subarray(element.valueStart, element.end);
  if (vr === 'SQ') {
    const items = element.undefinedLength ? value.subarray(0, value.length - 8) : value;
    const converted = convertItems(items, signedPixels);
    if (!element.undefinedLength) return encodeExplicit(element.tag, 'SQ', converted);
    return Buffer.concat([header(element.tag, 'SQ', UNDEFINED_LENGTH), converted, value.subarray(value.length - 8)]);
  }
  if (element.undefinedLength) return Buffer.concat([header(element.tag, 'UN', UNDEFINED_LENGTH), value]);
  // A short-form VR cannot carry a value this long: keep the bytes as UN.
  return encodeExplicit(element.tag, value.length > 0xffff && !isLong(vr) ? 'UN' : vr, value);
}

function convertItems(items: Buffer, signedPixels: boolean): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos < items.length) {
    const tag = ((items.readUInt16LE(pos) << 16) | items.readUInt16LE(pos + 2)) >>> 0;
    if (tag !== ITEM) throw new Error(`expected an item in a sequence, found ${tagText(tag)}`);
    const length = items.readUInt32LE(pos + 4);
    if (length === UNDEFINED_LENGTH) {
      // Elements up to the item delimiter: readElements would run into it, so find it by walking.
      let end = pos + 8;
      const elements: DatasetElement[] = [];
      while (((items.readUInt16LE(end) << 16) | items.readUInt16LE(end + 2)) >>> 0 !== 0xfffee00d) {
        const element = readElement(items, end, true, items.length);
        elements.push(element);
        end = element.end;
      }
      parts.push(items.subarray(pos, pos + 8), ...elements.map((e) => implicitToExplicit(items, e, signedPixels)), items.subarray(end, end + 8));
      pos = end + 8;
    } else {
      const body = Buffer.concat(readElements(items, true, pos + 8, pos + 8 + length).map((e) => implicitToExplicit(items, e, signedPixels)));
      parts.push(header(ITEM, undefined, body.length), body);
      pos += 8 + length;
    }
  }
  return Buffer.concat(parts);
}

function header(tag: number, vr: string | undefined, length: number): Buffer {
  const out = Buffer.alloc(vr ? 12 : 8);
  out.writeUInt16LE(tag >>> 16, 0);
  out.writeUInt16LE(tag & 0xffff, 2);
  if (vr) {
    out.write(vr, 4, 'latin1');
    out.writeUInt32LE(length, 8);
  } else {
    out.writeUInt32LE(length, 4);
  }
  return out;
}

function isLong(vr: string): boolean {
  return ['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV'].includes(vr);
}

/** The VR of a standard element from the data dictionary; group lengths UL, private creators LO, the rest UN. */
export function vrOf(tag: number, signedPixels: boolean): string {
  const group = tag >>> 16;
  const element = tag & 0xffff;
  if (element === 0) return 'UL';
  if (group % 2 === 1) return element >= 0x10 && element <= 0xff ? 'LO' : 'UN';
  // Overlay Data; dcmjs's dictionary files (60xx,3000) under another name.
  if ((group & 0xff00) === 0x6000 && element === 0x3000) return 'OW';
  const hex = tagText(tag);
  const dict = dataDictionary();
  const entry = dict[hex] ?? dict[`(${hex.slice(1, 3)}xx,${hex.slice(6, 10)}`];
  const vr = entry?.vr;
  if (vr === 'xs') return signedPixels ? 'SS' : 'US';
  if (vr === 'ox') return 'OW';
  return vr && /^[A-Z]{2}$/.test(vr) ? vr : 'UN';
}
