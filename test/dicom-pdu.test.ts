// The upper layer PDUs (agent/dicom/pdu.ts): every type encoded, decoded back to what was encoded, and read the way
// a peer lays it out on the wire (PS3.8 9.3).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import {
  A_RELEASE_RP,
  A_RELEASE_RQ,
  ContextResult,
  PduType,
  describeRejectReason,
  encodeAbort,
  encodeAssociateAccept,
  encodeAssociateReject,
  encodeAssociateRequest,
  encodePData,
  pDataHeader,
  pDataPdu,
  parseAbort,
  parseAssociateAccept,
  parseAssociateReject,
  parseAssociateRequest,
  parsePData,
} from '../agent/dicom/pdu';
import { TransferSyntax, VERIFICATION_SOP_CLASS } from '../agent/dicom/uids';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../agent/version';

/** Type and announced length of a PDU, and that the length is the body's. */
function header(pdu: Buffer): { type: number; length: number } {
  const length = pdu.readUInt32BE(2);
  assert.equal(length, pdu.length - 6, 'the announced length is the body length');
  return { type: pdu[0], length };
}

const CT = '1.2.840.10008.5.1.4.1.1.2';

test('A-ASSOCIATE-RQ: AE titles, contexts with ids 1, 3, 5, maximum PDU length and implementation survive the round trip', () => {
  const pdu = encodeAssociateRequest({
    calledAe: 'CLOUD PACS',
    callingAe: 'GW',
    contexts: [
      { abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [TransferSyntax.ImplicitVRLittleEndian] },
      { abstractSyntax: CT, transferSyntaxes: [TransferSyntax.ExplicitVRLittleEndian, '1.2.840.10008.1.2.4.80'] },
      { abstractSyntax: '1.3.12.2.1107.5.9.1', transferSyntaxes: [TransferSyntax.ExplicitVRLittleEndian] },
    ],
    maxPduLength: 65536,
  });
  assert.equal(header(pdu).type, PduType.AssociateRequest);
  assert.equal(pdu.readUInt16BE(6), 1, 'protocol version 1');
  assert.equal(pdu.toString('latin1', 10, 26), 'CLOUD PACS      ', 'called AE padded with spaces to 16');
  assert.deepEqual(parseAssociateRequest(pdu), {
    calledAe: 'CLOUD PACS',
    callingAe: 'GW',
    maxPduLength: 65536,
    contexts: [
      { id: 1, abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [TransferSyntax.ImplicitVRLittleEndian] },
      { id: 3, abstractSyntax: CT, transferSyntaxes: [TransferSyntax.ExplicitVRLittleEndian, '1.2.840.10008.1.2.4.80'] },
      { id: 5, abstractSyntax: '1.3.12.2.1107.5.9.1', transferSyntaxes: [TransferSyntax.ExplicitVRLittleEndian] },
    ],
    implementationClassUid: IMPLEMENTATION_CLASS_UID,
    implementationVersionName: IMPLEMENTATION_VERSION_NAME,
  });
});

test('A-ASSOCIATE-AC: results, the chosen transfer syntax of accepted contexts only, maximum PDU length', () => {
  const pdu = encodeAssociateAccept({
    calledAe: 'CLOUD',
    callingAe: 'GW',
    contexts: [
      { id: 1, result: ContextResult.Acceptance, transferSyntax: TransferSyntax.ImplicitVRLittleEndian },
      { id: 3, result: ContextResult.TransferSyntaxesNotSupported, transferSyntax: '1.2.840.10008.1.2.4.80' },
      { id: 5, result: ContextResult.AbstractSyntaxNotSupported },
    ],
    maxPduLength: 16384,
    implementationClassUid: '1.2.3.4',
    implementationVersionName: 'SIM_1',
  });
  assert.equal(header(pdu).type, PduType.AssociateAccept);
  assert.deepEqual(parseAssociateAccept(pdu), {
    calledAe: 'CLOUD',
    callingAe: 'GW',
    contexts: [
      { id: 1, result: ContextResult.Acceptance, transferSyntax: TransferSyntax.ImplicitVRLittleEndian },
      { id: 3, result: ContextResult.TransferSyntaxesNotSupported },
      { id: 5, result: ContextResult.AbstractSyntaxNotSupported },
    ],
    maxPduLength: 16384,
    implementationClassUid: '1.2.3.4',
    implementationVersionName: 'SIM_1',
  });
});

test('A-ASSOCIATE-AC as a peer may lay it out: unknown items skipped, UIDs padded with NUL, no maximum PDU length', () => {
  const item = (type: number, body: Buffer) => Buffer.concat([Buffer.from([type, 0, body.length >> 8, body.length & 0xff]), body]);
  const body = Buffer.concat([
    Buffer.from([0, 1, 0, 0]),
    Buffer.from('CLOUD           GW              ', 'latin1'),
    Buffer.alloc(32),
    item(0x10, Buffer.from('1.2.840.10008.3.1.1.1\0', 'latin1')),
    item(0x21, Buffer.concat([Buffer.from([1, 0, 0, 0]), item(0x40, Buffer.from('1.2.840.10008.1.2\0', 'latin1'))])),
    item(0x50, Buffer.concat([item(0x52, Buffer.from('1.2.3\0', 'latin1')), item(0x58, Buffer.alloc(6))])),
  ]);
  const pdu = Buffer.concat([Buffer.from([2, 0, 0, 0, body.length >> 8, body.length & 0xff]), body]);
  const accept = parseAssociateAccept(pdu);
  assert.deepEqual(accept.contexts, [{ id: 1, result: 0, transferSyntax: TransferSyntax.ImplicitVRLittleEndian }]);
  assert.equal(accept.maxPduLength, 0, 'no maximum');
  assert.equal(accept.implementationClassUid, '1.2.3');
});

test('A-ASSOCIATE-RJ: result, source and reason survive the round trip, and read in words', () => {
  for (const reject of [
    { result: 1, source: 1, reason: 7 },
    { result: 1, source: 1, reason: 3 },
    { result: 2, source: 3, reason: 2 },
    { result: 2, source: 3, reason: 1 },
  ]) {
    const pdu = encodeAssociateReject(reject);
    assert.deepEqual(header(pdu), { type: PduType.AssociateReject, length: 4 });
    assert.deepEqual(parseAssociateReject(pdu), reject);
  }
  assert.equal(describeRejectReason({ result: 1, source: 1, reason: 7 }), 'called AE title not recognized');
  assert.equal(describeRejectReason({ result: 1, source: 1, reason: 3 }), 'calling AE title not recognized');
  assert.equal(describeRejectReason({ result: 2, source: 3, reason: 2 }), 'local limit exceeded');
  assert.equal(describeRejectReason({ result: 1, source: 1, reason: 9 }), 'reason 9');
});

test('P-DATA-TF: one or several PDVs, command and last-fragment flags, context ids and values survive the round trip', () => {
  const command = crypto.randomBytes(96);
  const fragment = crypto.randomBytes(16378);
  const one = pDataPdu(3, command, true, true);
  assert.deepEqual(header(one), { type: PduType.PData, length: 6 + 96 });
  assert.equal(one[11], 0x03, 'message control header: command, last');
  assert.deepEqual(parsePData(one), [{ contextId: 3, command: true, last: true, value: command }]);
  assert.ok(pDataHeader(3, 96, true, true).equals(one.subarray(0, 12)), 'the header alone is the PDU without its value');

  const pdvs = [
    { contextId: 1, command: true, last: true, value: command },
    { contextId: 1, command: false, last: false, value: fragment },
    { contextId: 1, command: false, last: true, value: Buffer.alloc(0) },
  ];
  const several = encodePData(pdvs);
  assert.equal(header(several).type, PduType.PData);
  assert.deepEqual(parsePData(several), pdvs);
});

test('A-RELEASE-RQ, A-RELEASE-RP and A-ABORT', () => {
  assert.deepEqual(header(A_RELEASE_RQ), { type: PduType.ReleaseRequest, length: 4 });
  assert.deepEqual(header(A_RELEASE_RP), { type: PduType.ReleaseResponse, length: 4 });
  for (const [source, reason] of [
    [0, 0],
    [2, 6],
    [2, 1],
  ]) {
    const pdu = encodeAbort(source, reason);
    assert.deepEqual(header(pdu), { type: PduType.Abort, length: 4 });
    assert.deepEqual(parseAbort(pdu), { source, reason });
  }
});
