// Our override of dcmjs-dimse internals (agent/receive/pdu-path.ts) is installed by the receiver, explicitly: importing
// a module of the DICOM layer, or pdu-path itself, changes nothing in the library.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as dimse from 'dcmjs-dimse';
import '../agent/dicom/association';
import '../agent/dicom/command';
import { installDimseOverrides } from '../agent/receive/pdu-path';

test('the override is installed by installDimseOverrides() only, once', () => {
  const network = Object.getPrototypeOf(dimse.Scp.prototype) as Record<string, unknown>;
  const original = { wrap: network._wrapSocket, send: network._sendPDataTF, accept: network.sendAssociationAccept };
  assert.equal(network._wrapSocket, original.wrap, 'importing does not patch');
  installDimseOverrides();
  assert.notEqual(network._wrapSocket, original.wrap, 'installed');
  assert.notEqual(network._sendPDataTF, original.send);
  assert.notEqual(network.sendAssociationAccept, original.accept);
  const installed = network._sendPDataTF;
  installDimseOverrides();
  assert.equal(network._sendPDataTF, installed, 'a second call changes nothing (no override wrapped in another)');
});
