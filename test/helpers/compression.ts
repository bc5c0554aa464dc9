import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readElement, readElements, textValue, type DatasetElement } from '../../agent/spool/dataset-elements';
import { query } from './database';
import { runDcmtk } from './dcmtk';

/**
 * What the gateway sends for an instance: its verified compressed file when the compressor made one, else the
 * spool file as received. Tests of delivery compare the cloud's copy with this.
 */
export async function sentFile(dataDir: string, databaseUrl: string, sopInstanceUid: string): Promise<{ file: string; compressed: boolean }> {
  const [row] = await query(
    databaseUrl,
    `SELECT i.spool_path, c.compressed_path FROM instances i
       LEFT JOIN compressions c ON c.sop_instance_uid = i.sop_instance_uid AND c.state = 'compressed' AND c.dataset_sha256 = i.dataset_sha256
      WHERE i.sop_instance_uid = $1`,
    [sopInstanceUid],
  );
  if (!row) throw new Error(`no instance ${sopInstanceUid}`);
  return row.compressed_path
    ? { file: path.join(dataDir, 'compressed', ...String(row.compressed_path).split('/')), compressed: true }
    : { file: path.join(dataDir, 'spool', ...String(row.spool_path).split('/')), compressed: false };
}

/** Top-level elements of a Part 10 file (little endian), by tag. */
export function part10Elements(file: string): { buf: Buffer; transferSyntaxUid: string; elements: Map<number, DatasetElement> } {
  const buf = fs.readFileSync(file);
  let pos = 132;
  const meta: DatasetElement[] = [];
  while (buf.readUInt16LE(pos) === 0x0002) {
    const element = readElement(buf, pos, false, buf.length);
    meta.push(element);
    pos = element.end;
  }
  const transferSyntaxUid = textValue(
    buf,
    meta.find((e) => e.tag === 0x00020010),
  )!;
  return { buf, transferSyntaxUid, elements: new Map(readElements(buf, transferSyntaxUid === '1.2.840.10008.1.2', pos).map((e) => [e.tag, e])) };
}

/**
 * A JPEG-LS compressed file holds the same image as the received (explicit VR) one: every element but the pixel
 * data keeps its bytes, and DCMTK decodes the pixel data to the received pixels.
 */
export async function assertSameImage(received: string, compressed: string): Promise<void> {
  const source = part10Elements(received);
  const output = part10Elements(compressed);
  for (const [tag, element] of source.elements) {
    if (tag === 0x7fe00010 || tag === 0x00280006) continue;
    const out = output.elements.get(tag);
    assert.ok(out && source.buf.subarray(element.start, element.end).equals(output.buf.subarray(out.start, out.end)), `element ${tag.toString(16)} of ${compressed} kept`);
  }
  const decodedFile = `${compressed}.decoded`;
  const result = await runDcmtk('dcmdjpls', ['+te', compressed, decodedFile]);
  assert.equal(result.code, 0, result.stderr);
  const decoded = part10Elements(decodedFile);
  fs.rmSync(decodedFile);
  const pixels = (p: ReturnType<typeof part10Elements>) => {
    const e = p.elements.get(0x7fe00010)!;
    return p.buf.subarray(e.valueStart, e.end);
  };
  assert.ok(pixels(decoded).equals(pixels(source)), `${compressed} decodes to the received pixels`);
}
