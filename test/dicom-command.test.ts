// DIMSE command sets (agent/dicom/command.ts): every command set the gateway sends or answers survives the round
// trip, and what we encode is byte for byte what dcmjs (the receiver's library) encodes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Dataset, constants, requests, responses } from 'dcmjs-dimse';
import { CommandField, DataSetType, encodeCommand, encodeCommandSet, parseCommandSet, type CommandElements } from '../agent/dicom/command';
import { Status, classifyStoreStatus, statusClass, statusHex } from '../agent/dicom/status';
import { STORAGE_COMMITMENT_PUSH_MODEL, STORAGE_COMMITMENT_SOP_INSTANCE, VERIFICATION_SOP_CLASS } from '../agent/dicom/uids';

const CT = '1.2.840.10008.5.1.4.1.1.2';
const SOP = '1.2.826.0.1.3680043.2.1125.1.123456789';

const COMMAND_SETS: Array<[string, CommandElements]> = [
  ['C-ECHO-RQ', { AffectedSOPClassUID: VERIFICATION_SOP_CLASS, CommandField: CommandField.CEchoRq, MessageID: 1, CommandDataSetType: DataSetType.Absent }],
  ['C-ECHO-RSP', { AffectedSOPClassUID: VERIFICATION_SOP_CLASS, CommandField: CommandField.CEchoRsp, MessageIDBeingRespondedTo: 1, CommandDataSetType: DataSetType.Absent, Status: Status.Success }],
  ['C-STORE-RQ', { AffectedSOPClassUID: CT, CommandField: CommandField.CStoreRq, MessageID: 65535, Priority: 0, CommandDataSetType: DataSetType.Present, AffectedSOPInstanceUID: SOP }],
  [
    'C-STORE-RSP (failure, comment)',
    {
      AffectedSOPClassUID: CT,
      CommandField: CommandField.CStoreRsp,
      MessageIDBeingRespondedTo: 7,
      CommandDataSetType: DataSetType.Absent,
      Status: Status.OutOfResources,
      ErrorComment: 'disk nearly full',
      AffectedSOPInstanceUID: SOP,
    },
  ],
  [
    'N-ACTION-RQ',
    {
      RequestedSOPClassUID: STORAGE_COMMITMENT_PUSH_MODEL,
      CommandField: CommandField.NActionRq,
      MessageID: 2,
      CommandDataSetType: DataSetType.Present,
      RequestedSOPInstanceUID: STORAGE_COMMITMENT_SOP_INSTANCE,
      ActionTypeID: 1,
    },
  ],
  [
    'N-ACTION-RSP',
    {
      AffectedSOPClassUID: STORAGE_COMMITMENT_PUSH_MODEL,
      CommandField: CommandField.NActionRsp,
      MessageIDBeingRespondedTo: 2,
      CommandDataSetType: DataSetType.Absent,
      Status: 0x0112,
      AffectedSOPInstanceUID: STORAGE_COMMITMENT_SOP_INSTANCE,
    },
  ],
  [
    'N-EVENT-REPORT-RQ',
    {
      AffectedSOPClassUID: STORAGE_COMMITMENT_PUSH_MODEL,
      CommandField: CommandField.NEventReportRq,
      MessageID: 1,
      CommandDataSetType: DataSetType.Present,
      AffectedSOPInstanceUID: STORAGE_COMMITMENT_SOP_INSTANCE,
      EventTypeID: 2,
    },
  ],
  [
    'N-EVENT-REPORT-RSP',
    {
      AffectedSOPClassUID: STORAGE_COMMITMENT_PUSH_MODEL,
      CommandField: CommandField.NEventReportRsp,
      MessageIDBeingRespondedTo: 1,
      CommandDataSetType: DataSetType.Absent,
      Status: Status.ProcessingFailure,
      AffectedSOPInstanceUID: STORAGE_COMMITMENT_SOP_INSTANCE,
      EventTypeID: 2,
    },
  ],
];

test('every command set the gateway sends or answers survives encode and parse', () => {
  for (const [name, elements] of COMMAND_SETS) {
    const encoded = encodeCommand(elements);
    assert.equal(encoded.readUInt32LE(8), encoded.length - 12, `${name}: the group length counts the elements after it`);
    assert.deepEqual(parseCommandSet(encoded), elements, name);
  }
});

test('odd-length values are padded (UIDs with NUL, text with a space) and read back without the padding', () => {
  const encoded = encodeCommand({ AffectedSOPInstanceUID: '1.2.3', ErrorComment: 'odd' });
  assert.ok(encoded.includes(Buffer.from('1.2.3\0', 'latin1')));
  assert.ok(encoded.includes(Buffer.from('odd ', 'latin1')));
  assert.deepEqual(parseCommandSet(encoded), { AffectedSOPInstanceUID: '1.2.3', ErrorComment: 'odd' });
});

test('statuses: classes (PS3.7 C) and what a C-STORE status means for an instance', () => {
  assert.equal(statusClass(0x0000), 'success');
  for (const warning of [0x0001, 0x0107, 0xb000, 0xb007]) assert.equal(statusClass(warning), 'warning', statusHex(warning));
  for (const failure of [0x0110, 0x0122, 0xa700, 0xa900, 0xc000]) assert.equal(statusClass(failure), 'failure', statusHex(failure));
  assert.equal(statusClass(0xfe00), 'cancel');
  assert.equal(statusClass(0xff00), 'pending');
  assert.equal(statusHex(0xa7), '0x00A7');
  assert.deepEqual(classifyStoreStatus(0xb006), { delivered: true, permanent: false, meaning: '0xB006 warning: elements discarded' });
  assert.deepEqual(classifyStoreStatus(0xa701), { delivered: false, permanent: false, meaning: '0xA701 refused: out of resources (the cloud is full or busy)' });
});

test('responses are encoded byte for byte as dcmjs encodes them', () => {
  const dataset = new Dataset({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.2', SOPInstanceUID: '1.2.3.4.5.6.7' }, '1.2.840.10008.1.2.1');
  const store = new requests.CStoreRequest(dataset);
  const cases = [];
  for (const [status, comment] of [
    [constants.Status.Success, undefined],
    [0xa700, 'disk nearly full'],
    [0xc000, 'odd'],
  ] as const) {
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
