// Only pixel data is re-encoded: outputs decoded by DCMTK and GDCM equal the sources pixel for pixel, every other
// element keeps its bytes (private tags, ISO 2022 names), lossy outputs are labelled, corrupt data is kept.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { loadCodecs, type Codecs } from '../agent/compress/codecs';
import { textValue } from '../agent/spool/dataset-elements';
import { DEFAULT_RULES, type CompressionRule, type InstanceFacts } from '../agent/compress/rules';
import { transcodePart10, type TranscodeResult } from '../agent/compress/transcode';
import { ISO_2022_PATIENT_NAME, writeCorruptPixels, writeEightBitIso2022, writeSignedMr, writeUltrasoundCine } from './fixtures/compress-cases';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';
import { part10Elements } from './helpers/compression';
import { runDcmtk } from './helpers/dcmtk';
import { tempDir } from './helpers/temp-dir';

const dir = tempDir('compress-transcode');
let codecs: Codecs;
before(async () => {
  codecs = await loadCodecs();
});

const PIXEL_DATA = 0x7fe00010;
const IMPLICIT_LE = '1.2.840.10008.1.2';

type Parsed = ReturnType<typeof part10Elements>;
const parse = part10Elements;

const value = (p: Parsed, tag: number) => p.buf.subarray(p.elements.get(tag)!.valueStart, p.elements.get(tag)!.end);
const text = (p: Parsed, tag: number) => textValue(p.buf, p.elements.get(tag));

function factsOf(file: string): Omit<InstanceFacts, 'photometricInterpretation' | 'bitsAllocated' | 'bitsStored' | 'frames'> {
  const p = parse(file);
  return { sopClassUid: text(p, 0x00080016)!, modality: text(p, 0x00080060), callingAeTitle: 'MODALITY', transferSyntaxUid: p.transferSyntaxUid, receivedCompressed: false, sizeBytes: p.buf.length };
}

function compress(file: string, rules: CompressionRule[] = DEFAULT_RULES): { result: TranscodeResult; out: string } {
  const result = transcodePart10(fs.readFileSync(file), factsOf(file), rules, codecs);
  const out = `${file}.${rules === DEFAULT_RULES ? 'default' : rules[0].name}.out.dcm`;
  if (result.outcome === 'compressed') fs.writeFileSync(out, result.file);
  return { result, out };
}

/** Pixel samples interleaved by pixel, whatever the planar configuration of the file. */
function pixels(p: Parsed): Buffer {
  const data = value(p, PIXEL_DATA);
  const samples = p.elements.has(0x00280002) ? value(p, 0x00280002).readUInt16LE(0) : 1;
  const planar = p.elements.has(0x00280006) ? value(p, 0x00280006).readUInt16LE(0) : 0;
  const bytes = value(p, 0x00280100).readUInt16LE(0) / 8;
  const frameSize = value(p, 0x00280010).readUInt16LE(0) * value(p, 0x00280011).readUInt16LE(0) * samples * bytes;
  const frames = Number(text(p, 0x00280008) ?? '1');
  const out = Buffer.from(data.subarray(0, frameSize * frames));
  if (samples === 1 || planar === 0) return out;
  const plane = frameSize / 3;
  for (let f = 0; f < frames; f++) {
    const frame = data.subarray(f * frameSize, (f + 1) * frameSize);
    for (let i = 0; i < plane / bytes; i++) {
      for (let s = 0; s < 3; s++) frame.copy(out, f * frameSize + (i * 3 + s) * bytes, s * plane + i * bytes, s * plane + (i + 1) * bytes);
    }
  }
  return out;
}

async function decodeWith(tool: 'dcmdjpls' | 'gdcmconv', file: string): Promise<Parsed> {
  const out = `${file}.${tool}.dcm`;
  const args = tool === 'dcmdjpls' ? ['+te', file, out] : ['--raw', file, out];
  const result = await runDcmtk(tool, args);
  assert.equal(result.code, 0, `${tool} failed: ${result.stderr}`);
  return parse(out);
}

/** Every element of the source but those allowed to change is in the output with the same bytes. */
function assertOtherElementsKept(source: Parsed, output: Parsed, changed: number[]): void {
  const implicit = source.transferSyntaxUid === IMPLICIT_LE;
  for (const [tag, element] of source.elements) {
    if (tag === PIXEL_DATA || changed.includes(tag)) continue;
    const out = output.elements.get(tag);
    assert.ok(out, `element ${tag.toString(16)} missing from the output`);
    const sourceBytes = implicit ? source.buf.subarray(element.valueStart, element.end) : source.buf.subarray(element.start, element.end);
    const outputBytes = implicit ? output.buf.subarray(out.valueStart, out.end) : output.buf.subarray(out.start, out.end);
    assert.ok(sourceBytes.equals(outputBytes), `element ${tag.toString(16)} changed`);
  }
  const extra = [...output.elements.keys()].filter((tag) => !source.elements.has(tag) && !changed.includes(tag));
  assert.deepEqual(extra, [], 'no elements added but those that must change');
}

const cases = [
  { name: 'CT 16-bit, 12 stored', make: (d: string) => writeSyntheticCtSeries(path.join(d, 'ct'), { slices: 1, rows: 256, columns: 256 }).files[0] },
  { name: 'signed MR, 12 of 16 bits, negative values', make: (d: string) => writeSignedMr(path.join(d, 'mr.dcm')) },
  { name: 'RGB ultrasound cine, interleaved', make: (d: string) => writeUltrasoundCine(path.join(d, 'us.dcm'), { frames: 6, rows: 120, columns: 160 }) },
  { name: 'RGB ultrasound cine, planar', make: (d: string) => writeUltrasoundCine(path.join(d, 'us-planar.dcm'), { frames: 3, rows: 120, columns: 160, planar: 1 }) },
  { name: '8-bit with ISO 2022 name and a private sequence', make: (d: string) => writeEightBitIso2022(path.join(d, 'eight.dcm')) },
];

describe('lossless JPEG-LS (the default rules)', () => {
  for (const c of cases) {
    test(`${c.name}: DCMTK and GDCM decode it to the source pixels; other elements keep their bytes`, async () => {
      const source = c.make(dir);
      const { result, out } = compress(source);
      assert.equal(result.outcome, 'compressed', JSON.stringify(result));
      const src = parse(source);
      const output = parse(out);
      assert.equal(output.transferSyntaxUid, '1.2.840.10008.1.2.4.80');
      assert.ok(output.buf.length < src.buf.length, 'smaller than the source');
      assertOtherElementsKept(src, output, [0x00280006]);
      for (const tool of ['dcmdjpls', 'gdcmconv'] as const) {
        const decoded = await decodeWith(tool, out);
        assert.ok(pixels(decoded).equals(pixels(src)), `${tool} decodes to the source pixels`);
      }
    });
  }

  test('an implicit VR source gets explicit VR headers; values (ISO 2022 name, private sequence) keep their bytes', async () => {
    const explicit = writeEightBitIso2022(path.join(dir, 'eight-for-implicit.dcm'));
    const implicit = path.join(dir, 'eight-implicit.dcm');
    assert.equal((await runDcmtk('dcmconv', ['+ti', explicit, implicit])).code, 0);
    const { result, out } = compress(implicit);
    assert.equal(result.outcome, 'compressed', JSON.stringify(result));
    const src = parse(implicit);
    const output = parse(out);
    assertOtherElementsKept(src, output, []);
    assert.equal(value(output, 0x00100010).toString('latin1').trimEnd(), ISO_2022_PATIENT_NAME);
    // The private sequence is UN in explicit VR: its content is the received bytes.
    assert.ok(value(output, 0x00291001).equals(value(src, 0x00291001)));
    assert.ok(pixels(await decodeWith('dcmdjpls', out)).equals(pixels(src)));
  });
});

describe('JPEG 2000 and lossy rules', () => {
  test('JPEG 2000 lossless: GDCM decodes CT and RGB ultrasound to the source pixels; RGB is labelled YBR_RCT', async () => {
    const rule: CompressionRule = { name: 'j2k', match: {}, action: 'lossless', codec: 'jpeg2000' };
    for (const source of [cases[0].make(path.join(dir, 'j2k')), writeUltrasoundCine(path.join(dir, 'us-j2k.dcm'), { frames: 2, rows: 120, columns: 160 })]) {
      const { result, out } = compress(source, [rule]);
      assert.equal(result.outcome, 'compressed', JSON.stringify(result));
      const output = parse(out);
      assert.equal(output.transferSyntaxUid, '1.2.840.10008.1.2.4.90');
      if (source.endsWith('us-j2k.dcm')) assert.equal(text(output, 0x00280004), 'YBR_RCT');
      assert.ok(pixels(await decodeWith('gdcmconv', out)).equals(pixels(parse(source))));
      assert.equal(text(output, 0x00282110), undefined, 'lossless output carries no lossy label');
    }
  });

  test('near-lossless JPEG-LS: labelled per PS3.3, every sample within maxError', async () => {
    const source = writeUltrasoundCine(path.join(dir, 'us-near.dcm'), { frames: 4, rows: 120, columns: 160 });
    const rule: CompressionRule = { name: 'near', match: { modality: ['US'] }, action: 'lossy', codec: 'jpeg-ls', maxError: 3 };
    const { result, out } = compress(source, [rule]);
    assert.equal(result.outcome, 'compressed', JSON.stringify(result));
    const output = parse(out);
    assert.equal(output.transferSyntaxUid, '1.2.840.10008.1.2.4.81');
    assert.equal(text(output, 0x00282110), '01');
    assert.equal(text(output, 0x00282114), 'ISO_14495_1');
    assert.ok(Number(text(output, 0x00282112)) > 1);
    assert.equal(text(output, 0x00080018), text(parse(source), 0x00080018), 'the SOP Instance UID is kept (README: why)');
    const decoded = pixels(await decodeWith('dcmdjpls', out));
    const original = pixels(parse(source));
    let worst = 0;
    for (let i = 0; i < original.length; i++) worst = Math.max(worst, Math.abs(decoded[i] - original[i]));
    assert.ok(worst <= 3 && worst > 0, `max error ${worst}`);
  });

  test('lossy JPEG 2000 at a ratio: labelled, ratios and methods appended to an earlier lossy step, GDCM decodes it', async () => {
    const plain = writeSyntheticCtSeries(path.join(dir, 'ct-lossy'), { slices: 1, rows: 256, columns: 256 }).files[0];
    // Mark the source as already lossy once (JPEG baseline at 5:1) to see the values appended.
    const src = parse(plain);
    const pixelStart = src.elements.get(PIXEL_DATA)!.start;
    const label = (tag: number, vr: string, v: string) => {
      const padded = Buffer.from(v.length % 2 ? `${v} ` : v, 'latin1');
      const header = Buffer.alloc(8);
      header.writeUInt16LE(tag >>> 16, 0);
      header.writeUInt16LE(tag & 0xffff, 2);
      header.write(vr, 4, 'latin1');
      header.writeUInt16LE(padded.length, 6);
      return Buffer.concat([header, padded]);
    };
    const lossyBefore = path.join(dir, 'ct-lossy-before.dcm');
    fs.writeFileSync(
      lossyBefore,
      Buffer.concat([src.buf.subarray(0, pixelStart), label(0x00282110, 'CS', '01'), label(0x00282112, 'DS', '5'), label(0x00282114, 'CS', 'ISO_10918_1'), src.buf.subarray(pixelStart)]),
    );
    const rule: CompressionRule = { name: 'j2k-lossy', match: {}, action: 'lossy', codec: 'jpeg2000', ratio: 10 };
    const { result, out } = compress(lossyBefore, [rule]);
    assert.equal(result.outcome, 'compressed', JSON.stringify(result));
    const output = parse(out);
    assert.equal(output.transferSyntaxUid, '1.2.840.10008.1.2.4.91');
    assert.equal(text(output, 0x00282110), '01');
    assert.match(text(output, 0x00282112)!, /^5\\\d+(\.\d+)?$/);
    assert.equal(text(output, 0x00282114), 'ISO_10918_1\\ISO_15444_1');
    const decoded = await decodeWith('gdcmconv', out);
    assert.equal(pixels(decoded).length, pixels(src).length);
  });
});

test('lossy JPEG 2000 at a quality: every frame GDCM decodes keeps the PSNR asked for', async () => {
  const source = writeUltrasoundCine(path.join(dir, 'us-quality.dcm'), { frames: 3, rows: 120, columns: 160 });
  const rule: CompressionRule = { name: 'q', match: {}, action: 'lossy', codec: 'jpeg2000', quality: 40 };
  const { result, out } = compress(source, [rule]);
  assert.equal(result.outcome, 'compressed', JSON.stringify(result));
  assert.equal(text(parse(out), 0x00280004), 'YBR_ICT');
  const decoded = pixels(await decodeWith('gdcmconv', out));
  const original = pixels(parse(source));
  let sum = 0;
  for (let i = 0; i < original.length; i++) sum += (decoded[i] - original[i]) ** 2;
  const psnr = 10 * Math.log10((255 * 255 * original.length) / sum);
  assert.ok(psnr >= 40 && result.outcome === 'compressed' && result.pixelRatio > 3, `PSNR ${psnr.toFixed(1)} dB at ${result.outcome === 'compressed' ? result.pixelRatio.toFixed(1) : '?'}:1`);
});

describe('sent as received', () => {
  test('pixel data shorter than its attributes say is kept, with a warning', () => {
    const { result } = compress(writeCorruptPixels(path.join(dir, 'corrupt.dcm')));
    assert.equal(result.outcome, 'kept');
    assert.equal(result.outcome === 'kept' && result.warning, true);
  });

  test('a rule that keeps, and no rule at all, keep', () => {
    const source = writeSignedMr(path.join(dir, 'mr-keep.dcm'));
    assert.deepEqual(compress(source, [{ name: 'keep MR', match: { modality: ['MR'] }, action: 'keep' }]).result, { outcome: 'kept', rule: 'keep MR', reason: 'rule keeps as received' });
    assert.deepEqual(compress(source, [{ name: 'only CT', match: { modality: ['CT'] }, action: 'lossless', codec: 'jpeg-ls' }]).result, { outcome: 'kept', reason: 'no rule matched' });
  });
});
