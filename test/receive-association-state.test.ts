// The association state machine at the receiver (PS3.8 9.2, as an SCP): nothing after a reject, one association
// request per connection, nothing but an A-ABORT before our accept, no accept/reject/release-response PDUs from the
// requester, nothing after a release request; each unexpected PDU is answered with one A-ABORT the peer receives.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CommandField, DataSetType, encodeCommand } from '../agent/dicom/command';
import { A_RELEASE_RP, A_RELEASE_RQ, pDataPdu } from '../agent/dicom/pdu';
import { VERIFICATION_SOP_CLASS } from '../agent/dicom/uids';
import { createTestDatabase, query } from './helpers/database';
import { runDcmtk } from './helpers/dcmtk';
import { startGateway, type GatewayProcess } from './helpers/gateway-process';
import { connectRaw, verificationRequest, type RawConnection } from './helpers/raw-association';
import { tempDir } from './helpers/temp-dir';

/** A C-ECHO-RQ on presentation context 1 (the one verificationRequest proposes). */
const echoRequest = pDataPdu(1, encodeCommand({ AffectedSOPClassUID: VERIFICATION_SOP_CLASS, CommandField: CommandField.CEchoRq, MessageID: 1, CommandDataSetType: DataSetType.Absent }), true, true);

/** An A-ASSOCIATE-AC and an A-ASSOCIATE-RJ as a confused (or hostile) requester might send them. */
const PEER_ACCEPT = Buffer.from([0x02, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
const PEER_REJECT = Buffer.from([0x03, 0, 0, 0, 0, 4, 0, 1, 1, 1]);

/** After `skip` bytes (the A-ASSOCIATE-AC, if any), the gateway sent one A-ABORT and nothing else, and closed. */
async function assertOnlyAbort(connection: RawConnection, skip: number): Promise<void> {
  await connection.closed();
  const after = connection.received().subarray(skip);
  assert.equal(after.length, 10, `one PDU of 10 bytes, got ${after.toString('hex')}`);
  assert.equal(after[0], 0x07, 'A-ABORT');
}

describe('association state', () => {
  let gateway: GatewayProcess;
  let databaseUrl: string;
  before(async () => {
    databaseUrl = await createTestDatabase();
    gateway = await startGateway({ dataDir: tempDir('state'), database: databaseUrl, aeTitle: 'STATEGW' });
  });
  after(() => gateway.stop());

  test('a rejected association: only the A-ASSOCIATE-RJ is sent, a C-ECHO sent with the request is not answered, the connection closes at once', async () => {
    const connection = await connectRaw(gateway.port);
    connection.socket.write(Buffer.concat([verificationRequest('NOTUS'), echoRequest, echoRequest]));
    assert.deepEqual(await connection.firstPdu(), { type: 0x03, result: 1, source: 1, reason: 7 });
    assert.ok((await connection.closed()) < 1000, 'closed at once');
    assert.equal(connection.received().length, 10, 'nothing but the A-ASSOCIATE-RJ');
  });

  for (const [name, pdu] of [
    ['a C-ECHO', echoRequest],
    ['an A-RELEASE-RQ', A_RELEASE_RQ],
  ] as const) {
    test(`${name} sent with the request, before the accept: an A-ABORT, no A-ASSOCIATE-AC, nothing answered`, async () => {
      const connection = await connectRaw(gateway.port);
      connection.socket.write(Buffer.concat([verificationRequest('STATEGW'), pdu]));
      await assertOnlyAbort(connection, 0);
    });
  }

  for (const [name, pdu] of [
    ['A-ASSOCIATE-AC', PEER_ACCEPT],
    ['A-ASSOCIATE-RJ', PEER_REJECT],
    ['A-RELEASE-RP', A_RELEASE_RP],
  ] as const) {
    test(`an ${name} from the requester on an established association is an A-ABORT`, async () => {
      const connection = await connectRaw(gateway.port);
      connection.socket.write(verificationRequest('STATEGW'));
      assert.equal((await connection.firstPdu()).type, 0x02);
      const acLength = connection.received().length;
      connection.socket.write(pdu);
      await assertOnlyAbort(connection, acLength);
      await gateway.waitForLog(new RegExp(`${name} on an established association`));
    });
  }

  test('a C-ECHO after the release request is an A-ABORT, not answered', async () => {
    const connection = await connectRaw(gateway.port);
    connection.socket.write(verificationRequest('STATEGW'));
    assert.equal((await connection.firstPdu()).type, 0x02);
    const acLength = connection.received().length;
    connection.socket.write(Buffer.concat([A_RELEASE_RQ, echoRequest]));
    await assertOnlyAbort(connection, acLength);
    await gateway.waitForLog(/P-DATA-TF after the release request/);
  });

  test('a second A-ASSOCIATE-RQ on an established association is an A-ABORT, and no second database row', async () => {
    // A calling AE title of its own: the rows of the other tests' associations (aborted before their accept, whose
    // insert may still land) are not counted.
    const connection = await connectRaw(gateway.port);
    connection.socket.write(verificationRequest('STATEGW', 'SECONDRQ'));
    assert.equal((await connection.firstPdu()).type, 0x02);
    const acLength = connection.received().length;
    for (let i = 0; i < 50; i++) connection.socket.write(verificationRequest('STATEGW', 'SECONDRQ'));
    await connection.closed();
    const after = connection.received().subarray(acLength);
    // Our side reads and drops what the peer still sends after the A-ABORT, so no reset takes the A-ABORT away.
    assert.equal(after[0], 0x07, 'A-ABORT');
    assert.equal(after.length, 10, 'one A-ABORT and nothing else');
    assert.equal((await query(databaseUrl, "SELECT count(*)::int AS n FROM associations WHERE calling_ae = 'SECONDRQ'"))[0].n, 1);
    await gateway.waitForLog(/a second association request on the association/);
    const echo = await runDcmtk('echoscu', ['-aec', 'STATEGW', '127.0.0.1', String(gateway.port)]);
    assert.equal(echo.code, 0, echo.stderr);
  });
});
