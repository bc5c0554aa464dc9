import fs from 'node:fs';
import crypto from 'node:crypto';
import { DatasetHeaderReader, type DatasetHeader } from './dataset-header';

export interface Part10File {
  transferSyntaxUid: string;
  sopClassUid: string;
  sopInstanceUid: string;
  sourceAeTitle: string;
  /** Where the dataset starts (after preamble, "DICM" and the file meta group). */
  datasetOffset: number;
  fileBytes: number;
  datasetSha256: Buffer;
  header: DatasetHeader;
  problem?: string;
}

/**
 * Reads a spooled Part 10 file back, streaming: its file meta header, the hash of its dataset bytes and the
 * indexed attributes. Used by startup recovery to index files that were kept but never recorded.
 */
export async function readPart10File(file: string): Promise<Part10File> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(size, 64 * 1024));
    await handle.read(head, 0, head.length, 0);
    if (head.length < 144 || head.toString('latin1', 128, 132) !== 'DICM') throw new Error(`${file} is not a DICOM Part 10 file`);
    const meta = readFileMeta(head, file);
    const reader = new DatasetHeaderReader(meta.transferSyntaxUid);
    const hash = crypto.createHash('sha256');
    for await (const chunk of fs.createReadStream(file, { start: meta.datasetOffset, highWaterMark: 1024 * 1024 })) {
      hash.update(chunk as Buffer);
      reader.push(chunk as Buffer);
    }
    const { header, problem } = await reader.finish();
    return { ...meta, fileBytes: size, datasetSha256: hash.digest(), header, problem };
  } finally {
    await handle.close();
  }
}

function readFileMeta(head: Buffer, file: string): Omit<Part10File, 'fileBytes' | 'datasetSha256' | 'header' | 'problem'> {
  const values = new Map<number, string>();
  let pos = 132;
  let end = Number.POSITIVE_INFINITY;
  while (pos + 8 <= head.length && pos < end) {
    const group = head.readUInt16LE(pos);
    if (group !== 0x0002) break;
    const element = head.readUInt16LE(pos + 2);
    const vr = head.toString('latin1', pos + 4, pos + 6);
    const long = ['OB', 'OW', 'UN', 'SQ', 'UT', 'UC', 'UR'].includes(vr);
    const length = long ? head.readUInt32LE(pos + 8) : head.readUInt16LE(pos + 6);
    const valueStart = pos + (long ? 12 : 8);
    if (valueStart + length > head.length) throw new Error(`${file} has a truncated file meta header`);
    if (element === 0x0000) end = valueStart + head.readUInt32LE(valueStart);
    else values.set(element, head.toString('latin1', valueStart, valueStart + length).replace(/[\0 ]+$/, ''));
    pos = valueStart + length;
  }
  const transferSyntaxUid = values.get(0x0010);
  if (!transferSyntaxUid) throw new Error(`${file} has no transfer syntax in its file meta header`);
  return {
    transferSyntaxUid,
    sopClassUid: values.get(0x0002) ?? '',
    sopInstanceUid: values.get(0x0003) ?? '',
    sourceAeTitle: values.get(0x0016) ?? '',
    datasetOffset: pos,
  };
}
