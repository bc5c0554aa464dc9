// Transfer syntaxes no DCMTK storescu can propose (HTJ2K, MPEG, HEVC, JPEG-LS near-lossless, ...), and how the
// receiver picks among several proposed: a raw SCU sends dataset bytes exactly as given.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, query } from './helpers/database';
import { datasetBytes } from './helpers/dcmtk';
import { startGateway, type GatewayProcess } from './helpers/gateway-process';
import { RawStoreScu } from './helpers/raw-store-scu';
import { tempDir } from './helpers/temp-dir';
import { el, encodeDataset, randomUid } from './fixtures/part10';
import { readPart10Meta } from './fixtures/part10';

const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
const VIDEO_PHOTOGRAPHIC = '1.2.840.10008.5.1.4.1.1.77.1.4.1';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';

/** An explicit VR little endian dataset whose pixel data is encapsulated: an empty offset table and one fragment. */
function encapsulatedDataset(sopClassUid: string, sopInstanceUid: string, fragment: Buffer): Buffer {
  const header = encodeDataset([
    el(0x00080016, 'UI', sopClassUid),
    el(0x00080018, 'UI', sopInstanceUid),
    el(0x00080060, 'CS', 'XC'),
    el(0x0020000d, 'UI', randomUid()),
    el(0x0020000e, 'UI', randomUid()),
    el(0x00280002, 'US', 3),
    el(0x00280004, 'CS', 'YBR_PARTIAL_420'),
    el(0x00280010, 'US', 16),
    el(0x00280011, 'US', 16),
  ]);
  const item = (length: number) => {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(0xfffe, 0);
    b.writeUInt16LE(0xe000, 2);
    b.writeUInt32LE(length, 4);
    return b;
  };
  const pixelDataHeader = Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  const even = fragment.length % 2 ? Buffer.concat([fragment, Buffer.alloc(1)]) : fragment;
  const sequenceEnd = Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
  return Buffer.concat([header, pixelDataHeader, item(0), item(even.length), even, sequenceEnd]);
}

describe('transfer syntaxes beyond what storescu proposes', () => {
  let gateway: GatewayProcess;
  let databaseUrl: string;
  before(async () => {
    databaseUrl = await createTestDatabase();
    gateway = await startGateway({ dataDir: tempDir('ts'), database: databaseUrl, aeTitle: 'TSGW' });
  });
  after(() => gateway.stop());

  const cases: Array<[string, string, string]> = [
    ['HTJ2K Lossless', '1.2.840.10008.1.2.4.201', SECONDARY_CAPTURE],
    ['HTJ2K RPCL Lossless', '1.2.840.10008.1.2.4.202', SECONDARY_CAPTURE],
    ['HTJ2K', '1.2.840.10008.1.2.4.203', SECONDARY_CAPTURE],
    ['JPEG-LS Near-Lossless', '1.2.840.10008.1.2.4.81', SECONDARY_CAPTURE],
    ['JPEG Lossless Process 14', '1.2.840.10008.1.2.4.57', SECONDARY_CAPTURE],
    ['JPEG 2000 Part 2 Lossless', '1.2.840.10008.1.2.4.92', SECONDARY_CAPTURE],
    ['JPEG XL', '1.2.840.10008.1.2.4.112', SECONDARY_CAPTURE],
    ['MPEG2 Main Profile', '1.2.840.10008.1.2.4.100', VIDEO_PHOTOGRAPHIC],
    ['MPEG-4 AVC/H.264 High Profile', '1.2.840.10008.1.2.4.102', VIDEO_PHOTOGRAPHIC],
    ['HEVC/H.265 Main Profile', '1.2.840.10008.1.2.4.107', VIDEO_PHOTOGRAPHIC],
  ];
  for (const [name, transferSyntax, sopClass] of cases) {
    test(`${name} is accepted and kept byte for byte`, async () => {
      const { scu, contexts } = await RawStoreScu.associate(gateway.port, 'TSGW', [{ abstractSyntax: sopClass, transferSyntaxes: [transferSyntax] }]);
      assert.equal(contexts[0].transferSyntax, transferSyntax);
      const sop = randomUid();
      const dataset = encapsulatedDataset(sopClass, sop, Buffer.from(`${name} bitstream `.repeat(5000)));
      assert.equal(await scu.store(contexts[0], sopClass, sop, dataset), 0x0000);
      await scu.release();
      const [row] = await query(databaseUrl, 'SELECT spool_path, transfer_syntax_uid FROM instances WHERE sop_instance_uid = $1', [sop]);
      assert.equal(row.transfer_syntax_uid, transferSyntax);
      const file = path.join(gateway.dataDir, 'spool', ...String(row.spool_path).split('/'));
      assert.equal(readPart10Meta(file)!.transferSyntaxUid, transferSyntax);
      assert.ok(datasetBytes(file).equals(dataset));
    });
  }
});

describe('presentation context negotiation', () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGateway({ dataDir: tempDir('negotiate'), database: await createTestDatabase(), aeTitle: 'NEGGW' });
  });
  after(() => gateway.stop());

  test('lossless compressed is preferred, then uncompressed; lossy only when it is all the sender offers', async () => {
    const { scu, contexts } = await RawStoreScu.associate(gateway.port, 'NEGGW', [
      { abstractSyntax: SECONDARY_CAPTURE, transferSyntaxes: ['1.2.840.10008.1.2.4.50', EXPLICIT_LE, '1.2.840.10008.1.2'] },
      { abstractSyntax: SECONDARY_CAPTURE, transferSyntaxes: ['1.2.840.10008.1.2', '1.2.840.10008.1.2.4.80'] },
      { abstractSyntax: SECONDARY_CAPTURE, transferSyntaxes: ['1.2.840.10008.1.2.4.50'] },
      { abstractSyntax: SECONDARY_CAPTURE, transferSyntaxes: ['1.2.840.10008.1.2.2', '1.2.840.10008.1.2'] },
    ]);
    await scu.release();
    assert.deepEqual(
      contexts.map((c) => c.transferSyntax),
      [EXPLICIT_LE, '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2'],
    );
  });

  test('storage and private SOP classes are accepted; other services are refused', async () => {
    const { scu, contexts } = await RawStoreScu.associate(gateway.port, 'NEGGW', [
      { abstractSyntax: '1.2.840.10008.5.1.4.1.1.88.22', transferSyntaxes: [EXPLICIT_LE] }, // Enhanced SR
      { abstractSyntax: '1.2.840.10008.5.1.4.1.1.104.1', transferSyntaxes: [EXPLICIT_LE] }, // Encapsulated PDF
      { abstractSyntax: '1.3.12.2.1107.5.9.1', transferSyntaxes: [EXPLICIT_LE] }, // Siemens CSA Non-Image (private)
      { abstractSyntax: '1.2.840.10008.5.1.4.31', transferSyntaxes: [EXPLICIT_LE] }, // Modality Worklist FIND
      { abstractSyntax: '1.2.840.10008.5.1.4.1.2.2.1', transferSyntaxes: [EXPLICIT_LE] }, // Study Root FIND
      { abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] }, // Verification
    ]);
    await scu.release();
    assert.deepEqual(
      contexts.map((c) => c.transferSyntax !== undefined),
      [true, true, true, false, false, true],
    );
  });

  test('a C-STORE on a refused context is answered with a failure and nothing is kept', async () => {
    const { scu, contexts } = await RawStoreScu.associate(gateway.port, 'NEGGW', [
      { abstractSyntax: SECONDARY_CAPTURE, transferSyntaxes: ['1.2.3.4.5.6.7.8'] },
      { abstractSyntax: SECONDARY_CAPTURE, transferSyntaxes: [EXPLICIT_LE] },
    ]);
    assert.equal(contexts[0].transferSyntax, undefined);
    const sop = randomUid();
    const status = await scu.store(contexts[0], SECONDARY_CAPTURE, sop, encapsulatedDataset(SECONDARY_CAPTURE, sop, Buffer.alloc(100)));
    assert.notEqual(status, 0x0000);
    await scu.release();
    const kept = fs.readdirSync(path.join(gateway.dataDir, 'spool')).filter((f) => !f.startsWith('.'));
    assert.deepEqual(kept, []);
  });
});
