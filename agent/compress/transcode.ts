import crypto from 'node:crypto';
import type { Codecs, FrameInfo } from './codecs';
import { encodeExplicit, evenText, readElement, readElements, textValue, usValue, type DatasetElement } from '../spool/dataset-elements';
import { encapsulatePixelData } from './encapsulate';
import { implicitToExplicit } from './explicit-vr';
import { matchRule, type CompressionRule, type InstanceFacts } from './rules';
import { TransferSyntax } from '../dicom/uids';

export const JPEG_LS_LOSSLESS = '1.2.840.10008.1.2.4.80';
export const JPEG_LS_NEAR_LOSSLESS = '1.2.840.10008.1.2.4.81';
export const JPEG_2000_LOSSLESS = '1.2.840.10008.1.2.4.90';
export const JPEG_2000 = '1.2.840.10008.1.2.4.91';

const TAG = {
  transferSyntax: 0x00020010,
  samplesPerPixel: 0x00280002,
  photometric: 0x00280004,
  planarConfiguration: 0x00280006,
  numberOfFrames: 0x00280008,
  rows: 0x00280010,
  columns: 0x00280011,
  bitsAllocated: 0x00280100,
  bitsStored: 0x00280101,
  pixelRepresentation: 0x00280103,
  lossyCompression: 0x00282110,
  lossyRatio: 0x00282112,
  lossyMethod: 0x00282114,
  pixelData: 0x7fe00010,
} as const;

/** What the compressor decided for one instance. */
export type TranscodeResult =
  | { outcome: 'kept'; rule?: string; reason: string; warning?: boolean }
  | { outcome: 'compressed'; rule: string; transferSyntaxUid: string; file: Buffer; datasetSha256: Buffer; lossy: boolean; pixelRatio: number };

interface Image {
  samples: number;
  photometric: string;
  planar: number;
  frames: number;
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
}

/**
 * Applies the rules to one Part 10 file: either a decision to keep it as received (with the reason), or the
 * compressed file. Only the pixel data is re-encoded; every other element keeps its bytes (an implicit VR source
 * gains explicit VR element headers, values untouched). Each encoded frame is decoded again and compared with
 * the source before the result is returned: a mismatch or a codec error keeps the original, with a warning.
 */
export function transcodePart10(
  source: Buffer,
  facts: Omit<InstanceFacts, keyof PixelFacts>,
  rules: readonly CompressionRule[],
  codecs: Codecs,
  /** Set when lossless compression does not pay now: why (a lossless rule then keeps the instance as received). */
  losslessSkipped?: string,
): TranscodeResult {
  if (source.length < 132 || source.toString('latin1', 128, 132) !== 'DICM') return { outcome: 'kept', reason: 'not a DICOM Part 10 file', warning: true };
  const meta: DatasetElement[] = [];
  let pos = 132;
  while (pos + 8 <= source.length && source.readUInt16LE(pos) === 0x0002) {
    const element = readElement(source, pos, false, source.length);
    meta.push(element);
    pos = element.end;
  }
  const transferSyntaxUid = textValue(
    source,
    meta.find((e) => e.tag === TAG.transferSyntax),
  );
  if (transferSyntaxUid !== TransferSyntax.ImplicitVRLittleEndian && transferSyntaxUid !== TransferSyntax.ExplicitVRLittleEndian) {
    return { outcome: 'kept', rule: matchRule(rules, facts)?.name, reason: `received transfer syntax ${transferSyntaxUid} is kept as it is (only native little endian data is compressed)` };
  }
  const implicit = transferSyntaxUid === TransferSyntax.ImplicitVRLittleEndian;
  let elements: DatasetElement[];
  try {
    elements = readElements(source, implicit, pos);
  } catch (err) {
    return { outcome: 'kept', reason: `dataset cannot be parsed (${(err as Error).message}): sent as received`, warning: true };
  }
  const byTag = new Map(elements.map((e) => [e.tag, e]));
  const image = readImage(source, byTag);
  const rule = matchRule(rules, { ...facts, ...pixelFacts(image) });
  if (!rule) return { outcome: 'kept', reason: 'no rule matched' };
  if (rule.action === 'keep') return { outcome: 'kept', rule: rule.name, reason: 'rule keeps as received' };
  if (rule.action === 'lossless' && losslessSkipped) return { outcome: 'kept', rule: rule.name, reason: losslessSkipped };

  const pixelData = byTag.get(TAG.pixelData);
  const problem = imageProblem(image, pixelData, rule);
  if (problem || !image || !pixelData) return { outcome: 'kept', rule: rule.name, reason: problem ?? 'no pixel data', warning: Boolean(pixelData) };

  try {
    return compress(source, meta, elements, implicit, image, pixelData, rule, codecs);
  } catch (err) {
    return { outcome: 'kept', rule: rule.name, reason: `codec failed (${(err as Error).message}): sent as received`, warning: true };
  }
}

type PixelFacts = Pick<InstanceFacts, 'photometricInterpretation' | 'bitsAllocated' | 'bitsStored' | 'frames'>;

function pixelFacts(image: Image | undefined): PixelFacts {
  if (!image) return {};
  return { photometricInterpretation: image.photometric, bitsAllocated: image.bitsAllocated, bitsStored: image.bitsStored, frames: image.frames };
}

function readImage(buf: Buffer, byTag: Map<number, DatasetElement>): Image | undefined {
  const rows = usValue(buf, byTag.get(TAG.rows));
  const columns = usValue(buf, byTag.get(TAG.columns));
  const bitsAllocated = usValue(buf, byTag.get(TAG.bitsAllocated));
  if (rows === undefined || columns === undefined || bitsAllocated === undefined) return undefined;
  const frames = Number(textValue(buf, byTag.get(TAG.numberOfFrames)) ?? '1');
  return {
    samples: usValue(buf, byTag.get(TAG.samplesPerPixel)) ?? 1,
    photometric: textValue(buf, byTag.get(TAG.photometric)) ?? '',
    planar: usValue(buf, byTag.get(TAG.planarConfiguration)) ?? 0,
    frames: Number.isInteger(frames) && frames > 0 ? frames : NaN,
    rows,
    columns,
    bitsAllocated,
    bitsStored: usValue(buf, byTag.get(TAG.bitsStored)) ?? bitsAllocated,
    signed: usValue(buf, byTag.get(TAG.pixelRepresentation)) === 1,
  };
}

/** Why this image is sent as received, or undefined when it can be compressed. */
function imageProblem(image: Image | undefined, pixelData: DatasetElement | undefined, rule: CompressionRule): string | undefined {
  if (!pixelData) return 'no pixel data';
  if (!image) return 'pixel data without rows, columns or bits allocated';
  if (pixelData.undefinedLength) return 'native pixel data of undefined length';
  if (image.bitsAllocated !== 8 && image.bitsAllocated !== 16) return `bits allocated ${image.bitsAllocated} is not compressed (8 or 16 only)`;
  if (!(image.bitsStored >= 2 && image.bitsStored <= image.bitsAllocated)) return `bits stored ${image.bitsStored} does not fit bits allocated ${image.bitsAllocated}`;
  const gray = image.samples === 1 && ['MONOCHROME1', 'MONOCHROME2', 'PALETTE COLOR'].includes(image.photometric);
  const colour = image.samples === 3 && ['RGB', 'YBR_FULL'].includes(image.photometric);
  if (!gray && !colour) return `photometric interpretation ${image.photometric} with ${image.samples} samples is kept as received`;
  if (!Number.isFinite(image.frames)) return 'number of frames is not a positive whole number';
  const expected = frameBytes(image) * image.frames;
  if (pixelData.length !== expected && pixelData.length !== expected + 1) {
    return `pixel data is ${pixelData.length} bytes where rows x columns x samples x frames make ${expected}: odd or corrupt, sent as received`;
  }
  if (rule.action === 'lossy' && rule.codec === 'jpeg2000' && image.signed) return 'lossy JPEG 2000 of signed pixels is not done: sent as received';
  // OpenJPEG's colour transform expects RGB; YBR_FULL data would come back labelled and coloured wrong.
  // The WASM OpenJPEG encoder takes only the first component of colour samples wider than 8 bits.
  if (rule.action !== 'keep' && rule.codec === 'jpeg2000' && image.samples === 3 && image.bitsAllocated > 8) return '16-bit colour is not coded with JPEG 2000: sent as received';
  if (rule.action !== 'keep' && rule.codec === 'jpeg2000' && image.photometric === 'YBR_FULL') return 'YBR_FULL is not coded with JPEG 2000 (its colour transform is for RGB): sent as received';
  return undefined;
}

function frameBytes(image: Image): number {
  return image.rows * image.columns * image.samples * (image.bitsAllocated / 8);
}

function compress(
  source: Buffer,
  meta: DatasetElement[],
  elements: DatasetElement[],
  implicit: boolean,
  image: Image,
  pixelData: DatasetElement,
  rule: Exclude<CompressionRule, { action: 'keep' }>,
  codecs: Codecs,
): TranscodeResult {
  const size = frameBytes(image);
  const frames = Array.from({ length: image.frames }, (_, i) => {
    const frame = source.subarray(pixelData.valueStart + i * size, pixelData.valueStart + (i + 1) * size);
    return image.samples === 3 && image.planar === 1 ? interleave(frame, image) : frame;
  });
  // Bits above BitsStored (sign extension, overlays, garbage) must survive: code all bits when any is set.
  const info: FrameInfo = { width: image.columns, height: image.rows, componentCount: image.samples, bitsPerSample: image.bitsAllocated };
  if (image.bitsStored < image.bitsAllocated && frames.every((f) => fitsIn(f, image.bitsAllocated, image.bitsStored))) info.bitsPerSample = image.bitsStored;

  const codec = rule.codec;
  const encoded = frames.map((frame, i) => {
    try {
      return encodeFrame(codecs, rule, frame, info);
    } catch (err) {
      throw new Error(`frame ${i + 1}: ${(err as Error).message}`);
    }
  });

  const lossy = rule.action === 'lossy';
  const transferSyntaxUid = codec === 'jpeg-ls' ? (lossy ? JPEG_LS_NEAR_LOSSLESS : JPEG_LS_LOSSLESS) : lossy ? JPEG_2000 : JPEG_2000_LOSSLESS;
  const pixelRatio = (size * image.frames) / encoded.reduce((sum, e) => sum + e.length, 0);

  const replaced = new Map<number, Buffer>();
  replaced.set(TAG.pixelData, encapsulatePixelData(encoded));
  if (image.samples === 3) {
    replaced.set(TAG.planarConfiguration, encodeExplicit(TAG.planarConfiguration, 'US', Buffer.from([0, 0])));
    // OpenJPEG applies the reversible (lossless) or irreversible colour transform to three components.
    if (codec === 'jpeg2000') replaced.set(TAG.photometric, encodeExplicit(TAG.photometric, 'CS', evenText(lossy ? 'YBR_ICT' : 'YBR_RCT')));
  }
  if (lossy) {
    const byTag = new Map(elements.map((e) => [e.tag, e]));
    const append = (tag: number, value: string) => [textValue(source, byTag.get(tag)), value].filter(Boolean).join('\\');
    replaced.set(TAG.lossyCompression, encodeExplicit(TAG.lossyCompression, 'CS', evenText('01')));
    replaced.set(TAG.lossyRatio, encodeExplicit(TAG.lossyRatio, 'DS', evenText(append(TAG.lossyRatio, formatRatio(pixelRatio)))));
    replaced.set(TAG.lossyMethod, encodeExplicit(TAG.lossyMethod, 'CS', evenText(append(TAG.lossyMethod, codec === 'jpeg-ls' ? 'ISO_14495_1' : 'ISO_15444_1'))));
  }

  const dataset = buildDataset(source, elements, implicit, image.signed, replaced);
  const header = rebuildMeta(source, meta, transferSyntaxUid);
  return {
    outcome: 'compressed',
    rule: rule.name,
    transferSyntaxUid,
    file: Buffer.concat([header, dataset]),
    datasetSha256: crypto.createHash('sha256').update(dataset).digest(),
    lossy,
    pixelRatio,
  };
}

/** Ratios tried, highest first, for a lossy JPEG 2000 rule with a quality (PSNR) target. */
const QUALITY_RATIOS = [50, 30, 20, 12, 8, 5, 3];

/** Encodes one frame as the rule says and checks the result by decoding it; throws when the check fails. */
function encodeFrame(codecs: Codecs, rule: Exclude<CompressionRule, { action: 'keep' }>, frame: Buffer, info: FrameInfo): Buffer {
  const checked = (codec: 'jpeg-ls' | 'jpeg2000', data: Buffer, maxError: number | undefined) => {
    const problem = verifyFrame(codecs, codec, data, frame, info, maxError);
    if (problem) throw new Error(problem);
    return data;
  };
  if (rule.codec === 'jpeg-ls') {
    const nearLossless = rule.action === 'lossy' ? rule.maxError : 0;
    return checked('jpeg-ls', codecs.encodeJpegLs(frame, info, { nearLossless }), nearLossless);
  }
  if (rule.action === 'lossless') return checked('jpeg2000', codecs.encodeJpeg2000(frame, info, { lossless: true }), 0);
  if (rule.ratio !== undefined) return checked('jpeg2000', codecs.encodeJpeg2000(frame, info, { lossless: false, ratio: rule.ratio }), undefined);
  // A quality target: the highest ratio whose decoded frame keeps that PSNR; none does, then lossless (.91 allows it).
  for (const ratio of QUALITY_RATIOS) {
    const data = checked('jpeg2000', codecs.encodeJpeg2000(frame, info, { lossless: false, ratio }), undefined);
    if (psnr(codecs.decode('jpeg2000', data).pixels, frame, info.bitsPerSample) >= rule.quality!) return data;
  }
  return checked('jpeg2000', codecs.encodeJpeg2000(frame, info, { lossless: true }), 0);
}

/** Peak signal-to-noise ratio in dB of decoded samples against the source (infinite when equal). */
function psnr(decoded: Buffer, frame: Buffer, bitsPerSample: number): number {
  const wide = bitsPerSample > 8;
  const a = wide ? new Uint16Array(frame.buffer, frame.byteOffset, frame.length / 2) : frame;
  const b = wide ? new Uint16Array(decoded.buffer, decoded.byteOffset, decoded.length / 2) : decoded;
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  const peak = 2 ** bitsPerSample - 1;
  return sum === 0 ? Infinity : 10 * Math.log10((peak * peak * a.length) / sum);
}

/** Decodes an encoded frame and compares it with the source: exact for lossless, within maxError for near-lossless. */
function verifyFrame(codecs: Codecs, codec: 'jpeg-ls' | 'jpeg2000', data: Buffer, frame: Buffer, info: FrameInfo, maxError: number | undefined): string | undefined {
  const decoded = codecs.decode(codec, data);
  if (decoded.info.width !== info.width || decoded.info.height !== info.height || decoded.info.componentCount !== info.componentCount) {
    return `decoded geometry ${decoded.info.width}x${decoded.info.height}x${decoded.info.componentCount} differs from the source`;
  }
  if (decoded.pixels.length !== frame.length) return `decoded ${decoded.pixels.length} bytes where the source has ${frame.length}`;
  if (maxError === 0) return decoded.pixels.equals(frame) ? undefined : 'decoded pixels differ from the source (lossless check failed)';
  if (maxError === undefined) return undefined;
  const wide = info.bitsPerSample > 8;
  const a = wide ? new Uint16Array(frame.buffer, frame.byteOffset, frame.length / 2) : frame;
  const b = wide ? new Uint16Array(decoded.pixels.buffer, decoded.pixels.byteOffset, decoded.pixels.length / 2) : decoded.pixels;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > maxError) return `sample ${i} is off by more than ${maxError}`;
  return undefined;
}

function fitsIn(frame: Buffer, bitsAllocated: number, bitsStored: number): boolean {
  const limit = 1 << bitsStored;
  if (bitsAllocated === 8) return frame.every((v) => v < limit);
  const words = new Uint16Array(frame.buffer, frame.byteOffset, frame.length / 2);
  for (let i = 0; i < words.length; i++) if (words[i] >= limit) return false;
  return true;
}

/** RRR...GGG...BBB to RGBRGB... (JPEG-LS and JPEG 2000 take pixels interleaved; the output says planar 0). */
function interleave(frame: Buffer, image: Image): Buffer {
  const bytes = image.bitsAllocated / 8;
  const plane = image.rows * image.columns;
  const out = Buffer.alloc(frame.length);
  for (let p = 0; p < plane; p++) {
    for (let s = 0; s < 3; s++) frame.copy(out, (p * 3 + s) * bytes, (s * plane + p) * bytes, (s * plane + p + 1) * bytes);
  }
  return out;
}

function formatRatio(ratio: number): string {
  return ratio.toFixed(ratio >= 100 ? 0 : 2);
}

/**
 * The output dataset: every element's bytes as received (explicit VR source) or with explicit VR headers
 * (implicit source), the replaced and added elements in tag order, group lengths recomputed where present.
 */
function buildDataset(source: Buffer, elements: DatasetElement[], implicit: boolean, signed: boolean, replaced: Map<number, Buffer>): Buffer {
  const parts = new Map<number, Buffer>();
  for (const element of elements) {
    parts.set(element.tag, replaced.get(element.tag) ?? (implicit ? implicitToExplicit(source, element, signed) : source.subarray(element.start, element.end)));
  }
  for (const [tag, bytes] of replaced) if (!parts.has(tag)) parts.set(tag, bytes);
  const tags = [...parts.keys()].sort((a, b) => a - b);
  for (const tag of tags) {
    if ((tag & 0xffff) !== 0) continue;
    const length = tags.filter((t) => t >>> 16 === tag >>> 16 && t !== tag).reduce((sum, t) => sum + parts.get(t)!.length, 0);
    const value = Buffer.alloc(4);
    value.writeUInt32LE(length);
    parts.set(tag, encodeExplicit(tag, 'UL', value));
  }
  return Buffer.concat(tags.map((t) => parts.get(t)!));
}

/** The received file meta header with the new transfer syntax and group length; everything else as it was. */
function rebuildMeta(source: Buffer, meta: DatasetElement[], transferSyntaxUid: string): Buffer {
  const body = meta.filter((e) => e.tag !== 0x00020000).map((e) => (e.tag === TAG.transferSyntax ? encodeExplicit(e.tag, 'UI', uidValue(transferSyntaxUid)) : source.subarray(e.start, e.end)));
  const bytes = Buffer.concat(body);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(bytes.length);
  return Buffer.concat([source.subarray(0, 132), encodeExplicit(0x00020000, 'UL', groupLength), bytes]);
}

function uidValue(uid: string): Buffer {
  return Buffer.from(uid.length % 2 ? `${uid}\0` : uid, 'latin1');
}
