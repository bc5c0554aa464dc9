/**
 * Encapsulated Pixel Data per PS3.5 A.4: (7FE0,0010) OB of undefined length, a Basic Offset Table item with the
 * offset of each frame's first fragment, one fragment per frame padded to even length, a sequence delimiter.
 */
export function encapsulatePixelData(frames: readonly Buffer[]): Buffer {
  const items: Buffer[] = [];
  const offsets = Buffer.alloc(frames.length * 4);
  let offset = 0;
  frames.forEach((frame, i) => {
    const padded = frame.length % 2 ? Buffer.concat([frame, Buffer.alloc(1)]) : frame;
    offsets.writeUInt32LE(offset, i * 4);
    items.push(itemHeader(padded.length), padded);
    offset += 8 + padded.length;
  });
  // Offsets are 32-bit: past 4 GiB the table stays empty, which PS3.5 allows.
  const table = offset > 0xffffffff ? Buffer.alloc(0) : offsets;
  const header = Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  const delimiter = Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
  return Buffer.concat([header, itemHeader(table.length), table, ...items, delimiter]);
}

function itemHeader(length: number): Buffer {
  const header = Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0, 0, 0, 0]);
  header.writeUInt32LE(length, 4);
  return header;
}
