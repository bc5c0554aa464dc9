// The one override of dcmjs-dimse internals: PDU cutting and the direct encoder of dataset-less responses.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { Dataset, constants, requests, responses } from 'dcmjs-dimse';
import { PduReader, encodeCommandSet } from '../agent/receive/pdu-path';

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

test('responses are encoded byte for byte as dcmjs encodes them', () => {
  const dataset = new Dataset({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.2', SOPInstanceUID: '1.2.3.4.5.6.7' }, '1.2.840.10008.1.2.1');
  const store = new requests.CStoreRequest(dataset);
  const cases = [];
  for (const [status, comment] of [[constants.Status.Success, undefined], [0xa700, 'disk nearly full'], [0xc000, 'odd']] as const) {
    const response = responses.CStoreResponse.fromRequest(store);
    response.setStatus(status);
    if (comment) response.setErrorComment(comment);
    cases.push(response);
  }
  const echo = responses.CEchoResponse.fromRequest(new requests.CEchoRequest());
  echo.setStatus(constants.Status.Success);
  cases.push(echo);
  for (const response of cases) {
    const commandDataset = response.getCommandDataset() as unknown as { getElements(): Record<string, unknown>; getDenaturalizedCommandDataset(): Buffer };
    const ours = encodeCommandSet(commandDataset.getElements());
    assert.ok(ours, 'encoded');
    assert.ok(ours.equals(Buffer.from(commandDataset.getDenaturalizedCommandDataset())), `status 0x${response.getStatus().toString(16)}`);
  }
});

test('an unknown command element falls back to dcmjs', () => {
  assert.equal(encodeCommandSet({ CommandField: 0x8001, SomethingElse: 'x' }), undefined);
});
