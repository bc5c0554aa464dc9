// The association client (agent/dicom/association.ts, verification.ts) over loopback against a hand-made peer, each
// failure with the kind code branches on; then `gateway echo`, which uses it, against the real receiver.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CommandField, DataSetType, encodeCommand, parseCommandSet } from '../agent/dicom/command';
import { isDicomError, type DicomErrorKind } from '../agent/dicom/dicom-error';
import { A_RELEASE_RP, ContextResult, PduType, encodeAbort, encodeAssociateAccept, encodeAssociateReject, pDataPdu, parseAssociateRequest, parsePData } from '../agent/dicom/pdu';
import { PduReader } from '../agent/dicom/pdu-reader';
import { echo } from '../agent/dicom/verification';
import { createTestDatabase } from './helpers/database';
import { GATEWAY_BIN, startGateway, type GatewayProcess } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';

/** What the hand-made peer does with each PDU it gets; undefined: nothing (silent). */
type Peer = (pdu: Buffer, socket: net.Socket) => Buffer | undefined;

/** A Verification SCP that answers with `status`, or refuses the context when `refuseContext`. */
function verificationScp(status = 0, refuseContext = false): Peer {
  return (pdu) => {
    if (pdu[0] === PduType.AssociateRequest) {
      const request = parseAssociateRequest(pdu);
      const result = refuseContext ? ContextResult.AbstractSyntaxNotSupported : ContextResult.Acceptance;
      return encodeAssociateAccept({
        calledAe: request.calledAe,
        callingAe: request.callingAe,
        contexts: request.contexts.map((c) => ({ id: c.id, result, transferSyntax: c.transferSyntaxes[0] })),
        maxPduLength: 16384,
      });
    }
    if (pdu[0] === PduType.PData) {
      const [pdv] = parsePData(pdu);
      const command = parseCommandSet(pdv.value);
      const response = encodeCommand({
        AffectedSOPClassUID: command.AffectedSOPClassUID,
        CommandField: CommandField.CEchoRsp,
        MessageIDBeingRespondedTo: command.MessageID,
        CommandDataSetType: DataSetType.Absent,
        Status: status,
      });
      return pDataPdu(pdv.contextId, response, true, true);
    }
    if (pdu[0] === PduType.ReleaseRequest) return A_RELEASE_RP;
    return undefined;
  };
}

async function withPeer<T>(peer: Peer, run: (socket: net.Socket, received: number[]) => Promise<T>): Promise<T> {
  const received: number[] = [];
  const server = net.createServer((socket) => {
    const reader = new PduReader();
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      reader.push(chunk);
      for (let next = reader.header(); next && reader.buffered >= next.length + 6; next = reader.header()) {
        const pdu = Buffer.from(reader.take(next.length + 6));
        received.push(pdu[0]);
        const answer = peer(pdu, socket);
        if (answer) socket.write(answer);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  try {
    return await run(socket, received);
  } finally {
    socket.destroy();
    server.close();
  }
}

const request = { calledAe: 'PEER', callingAe: 'GW', timeoutMs: 1000 };
const options = { peer: 'the peer' };

/** Runs an echo that must fail; returns the error after checking its kind. */
async function failedEcho(peer: Peer, kind: DicomErrorKind): Promise<Error & Record<string, unknown>> {
  return withPeer(peer, async (socket) => {
    const err = await echo(socket, request, options).then(
      () => assert.fail('the echo succeeded'),
      (e: unknown) => e,
    );
    assert.ok(isDicomError(err, kind), `expected kind ${kind}, got ${String(err)}`);
    return err as unknown as Error & Record<string, unknown>;
  });
}

test('C-ECHO: associate, echo, release', async () => {
  const received = await withPeer(verificationScp(), async (socket, pdus) => {
    await echo(socket, request, options);
    return pdus;
  });
  assert.deepEqual(received, [PduType.AssociateRequest, PduType.PData, PduType.ReleaseRequest]);
});

test('an A-ASSOCIATE-RJ is kind "rejected", with its result, source and reason', async () => {
  const err = await failedEcho(() => encodeAssociateReject({ result: 1, source: 1, reason: 7 }), 'rejected');
  assert.deepEqual(err.reject, { result: 1, source: 1, reason: 7 });
  assert.match(err.message, /the peer rejected the association permanently .*called AE title not recognized/);
});

test('a refused Verification context is kind "rejected", with the context result, and the association is released', async () => {
  const err = await failedEcho(verificationScp(0, true), 'rejected');
  assert.equal(err.contextResult, ContextResult.AbstractSyntaxNotSupported);
  assert.equal(err.reject, undefined);
});

test('a failure status is kind "refused-by-status", with the status', async () => {
  const err = await failedEcho(verificationScp(0x0122), 'refused-by-status');
  assert.equal(err.status, 0x0122);
  assert.match(err.message, /status 0x0122/);
});

test('an A-ABORT is kind "aborted"; silence is kind "timeout" within the time allowed', async () => {
  const scp = verificationScp();
  await failedEcho((pdu, socket) => (pdu[0] === PduType.PData ? encodeAbort(2, 0) : scp(pdu, socket)), 'aborted');
  const started = Date.now();
  const err = await failedEcho(() => undefined, 'timeout');
  assert.ok(Date.now() - started < 3000, 'gave up after the timeout');
  assert.match(err.message, /did not answer within 1 s \(waiting for the association answer\)/);
});

test('a PDU that announces more than the limit fails at its header, before any of its body is buffered', async () => {
  const started = Date.now();
  const err = await failedEcho((_pdu, socket) => {
    // A header announcing 4 GiB, then a trickle the client must not wait for.
    socket.write(Buffer.from([PduType.PData, 0, 0xff, 0xff, 0xff, 0xff, 0, 0]));
    return undefined;
  }, 'protocol');
  assert.match(err.message, /invalid PDU \(type 4, 4294967295 bytes\)/);
  assert.ok(Date.now() - started < 1000, 'failed at once, not at the timeout');
});

test('a wrong answer to the association request is kind "protocol"', async () => {
  await failedEcho((pdu) => (pdu[0] === PduType.AssociateRequest ? A_RELEASE_RP : undefined), 'protocol');
});

describe('gateway echo against the receiver', () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGateway({ dataDir: tempDir('echo'), database: await createTestDatabase(), aeTitle: 'ECHOGW' });
  });
  after(() => gateway.stop());

  const run = (aeTitle: string) =>
    spawnSync(process.execPath, [GATEWAY_BIN, 'echo', '--port', String(gateway.port), '--ae-title', aeTitle], { encoding: 'utf8', env: { ...process.env, GATEWAY_CONFIG: '' } });

  test("succeeds with the gateway's AE title; a wrong one is refused with the reason", () => {
    const ok = run('ECHOGW');
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /C-ECHO to ECHOGW@127\.0\.0\.1:\d+ succeeded/);
    const wrong = run('echogw');
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.stderr, /rejected the association permanently .*called AE title not recognized/);
  });
});
