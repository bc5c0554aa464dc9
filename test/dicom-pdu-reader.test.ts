// Cutting a byte stream into PDUs and P-DATA-TF bodies into PDV fragments (agent/dicom/pdu-reader.ts): any read
// size, in order, without losing a byte; malformed PDVs refused.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { isDicomError } from '../agent/dicom/dicom-error';
import { PDataSplitter, PduReader } from '../agent/dicom/pdu-reader';

function pdu(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(6);
  header[0] = type;
  header.writeUInt32BE(body.length, 2);
  return Buffer.concat([header, body]);
}

test('PduReader cuts PDUs out of arbitrary socket reads, in order, without losing a byte', () => {
  const pdus = [pdu(4, crypto.randomBytes(100000)), pdu(4, crypto.randomBytes(3)), pdu(5, Buffer.alloc(4)), pdu(4, crypto.randomBytes(70000))];
  const stream = Buffer.concat(pdus);
  for (const readSize of [1, 5, 6, 7, 1000, 65536, stream.length]) {
    const reader = new PduReader();
    const out: Buffer[] = [];
    for (let offset = 0; offset < stream.length; offset += readSize) {
      reader.push(stream.subarray(offset, offset + readSize));
      for (let next = reader.header(); next && reader.buffered >= next.length + 6; next = reader.header()) out.push(Buffer.from(reader.take(next.length + 6)));
    }
    assert.equal(out.length, pdus.length, `read size ${readSize}`);
    out.forEach((p, i) => assert.ok(p.equals(pdus[i]), `PDU ${i} with read size ${readSize}`));
    assert.equal(reader.buffered, 0);
  }
});

function pdv(contextId: number, control: number, value: Buffer): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt32BE(value.length + 2, 0);
  head[4] = contextId;
  head[5] = control;
  return Buffer.concat([head, value]);
}

/** Feeds a P-DATA-TF body in reads of readSize bytes; returns each PDV's value rebuilt from its fragments. */
function splitPData(body: Buffer, readSize: number): Array<{ contextId: number; command: boolean; last: boolean; value: Buffer; fragments: number }> {
  const reader = new PduReader();
  const splitter = new PDataSplitter();
  splitter.start(body.length);
  const out: Array<{ contextId: number; command: boolean; last: boolean; value: Buffer; fragments: number }> = [];
  let current: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += readSize) {
    reader.push(body.subarray(offset, offset + readSize));
    for (let fragment = splitter.next(reader); fragment; fragment = splitter.next(reader)) {
      current.push(fragment.value);
      const ended = current.reduce((n, b) => n + b.length, 0);
      const expected = body.readUInt32BE(out.reduce((n, p) => n + 6 + p.value.length, 0)) - 2;
      if (ended === expected) {
        out.push({ contextId: fragment.contextId, command: fragment.command, last: fragment.last, value: Buffer.concat(current), fragments: current.length });
        current = [];
      } else {
        assert.equal(fragment.last, false, 'only the piece that ends a PDV carries its last flag');
      }
    }
  }
  assert.equal(splitter.inPdu, false);
  assert.equal(reader.buffered, 0);
  return out;
}

test('PDataSplitter hands out the PDVs of a P-DATA-TF as pieces of the reads, never copying, flags on the end', () => {
  const command = crypto.randomBytes(120);
  const dataset = crypto.randomBytes(200000);
  const body = Buffer.concat([pdv(1, 0x03, command), pdv(3, 0x00, dataset), pdv(3, 0x02, Buffer.alloc(0))]);
  for (const readSize of [1, 5, 7, 4096, 65536, body.length]) {
    const pdvs = splitPData(body, readSize);
    assert.deepEqual(
      pdvs.map((p) => [p.contextId, p.command, p.last, p.value.length]),
      [
        [1, true, true, 120],
        [3, false, false, 200000],
        [3, false, true, 0],
      ],
      `read size ${readSize}`,
    );
    assert.ok(pdvs[0].value.equals(command) && pdvs[1].value.equals(dataset));
    if (readSize >= 65536) assert.ok(pdvs[1].fragments <= Math.ceil(200000 / readSize) + 1, 'one piece per read');
  }
});

test('PDataSplitter refuses PDVs that do not fit their PDU', () => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['a PDV longer than the PDU', Buffer.concat([pdv(1, 0, Buffer.alloc(10))]).subarray(0, 12), /PDV of 12 bytes/],
    ['a PDV length under 2', Buffer.from([0, 0, 0, 1, 1, 0, 0, 0]), /PDV of 1 bytes/],
    ['bytes after the last PDV that cannot hold a header', Buffer.concat([pdv(1, 2, Buffer.alloc(4)), Buffer.alloc(3)]), /cannot hold a PDV header/],
  ];
  for (const [what, body, error] of cases) {
    const reader = new PduReader();
    const splitter = new PDataSplitter();
    splitter.start(body.length);
    reader.push(body);
    assert.throws(
      () => {
        while (splitter.next(reader));
      },
      (err: unknown) => isDicomError(err, 'protocol') && error.test(err.message),
      what,
    );
  }
});
