// Storage Commitment reports on a new association: only from the cloud we upload to, on the DICOM-TLS listener.
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../agent/db/embedded-postgres';
import { ContextResult, encodeAssociateRequest, parseAssociateAccept } from '../agent/dicom/pdu';
import { STORAGE_COMMITMENT_PUSH_MODEL, TransferSyntax, VERIFICATION_SOP_CLASS } from '../agent/dicom/uids';
import { makeTestPki, type TestPki } from './helpers/certificates';
import { createTestDatabase } from './helpers/database';
import { startGateway, type GatewayProcess } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';

/** Proposes Verification (id 1) and Storage Commitment Push Model (id 3); resolves with each context's result. */
function propose(socket: net.Socket, callingAe: string): Promise<{ verification: number; commitment: number }> {
  const implicit = [TransferSyntax.ImplicitVRLittleEndian];
  socket.write(
    encodeAssociateRequest({
      calledAe: 'SCSENDGW',
      callingAe,
      contexts: [
        { abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: implicit },
        { abstractSyntax: STORAGE_COMMITMENT_PUSH_MODEL, transferSyntaxes: implicit },
      ],
      maxPduLength: 16384,
    }),
  );
  return new Promise((resolve, reject) => {
    let data = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.length < 6 || data.length < 6 + data.readUInt32BE(2)) return;
      if (data[0] !== 0x02) return reject(new Error(`PDU type ${data[0]} instead of A-ASSOCIATE-AC`));
      const contexts = parseAssociateAccept(data.subarray(0, 6 + data.readUInt32BE(2))).contexts;
      socket.destroy();
      resolve({ verification: contexts.find((c) => c.id === 1)!.result, commitment: contexts.find((c) => c.id === 3)!.result });
    });
    socket.on('error', reject);
  });
}

const plainConnection = (port: number) =>
  new Promise<net.Socket>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
  });
const tlsConnection = (port: number, pki: TestPki) =>
  new Promise<net.Socket>((resolve) => {
    const socket = tls.connect({ port, host: 'localhost', ca: fs.readFileSync(pki.caFile) }, () => resolve(socket));
  });

describe('Storage Commitment reports on a new association', () => {
  let gateway: GatewayProcess;
  let pki: TestPki;
  let tlsPort: number;
  before(async () => {
    pki = makeTestPki(tempDir('sc-sender-pki'));
    tlsPort = await freePort();
    gateway = await startGateway({
      dataDir: tempDir('sc-sender'),
      database: await createTestDatabase(),
      aeTitle: 'SCSENDGW',
      config: {
        tls: { port: tlsPort, certFile: pki.serverCertFile, keyFile: pki.serverKeyFile },
        // Nothing listens there: only the AE title matters to the receiver.
        upstream: { kind: 'dicom-tls', host: '127.0.0.1', port: await freePort(), calledAeTitle: 'CLOUDPACS' },
      },
    });
  });
  after(() => gateway.stop());

  test('the cloud AE title on the DICOM-TLS listener may send reports', async () => {
    assert.deepEqual(await propose(await tlsConnection(tlsPort, pki), 'CLOUDPACS'), { verification: ContextResult.Acceptance, commitment: ContextResult.Acceptance });
  });

  test('another AE title may not, on either port; the cloud AE title not on the plain port (tls.commitmentReportsOnPlainPort is off)', async () => {
    const refused = { verification: ContextResult.Acceptance, commitment: ContextResult.AbstractSyntaxNotSupported };
    assert.deepEqual(await propose(await tlsConnection(tlsPort, pki), 'INTRUDER'), refused);
    assert.deepEqual(await propose(await plainConnection(gateway.port), 'INTRUDER'), refused);
    assert.deepEqual(await propose(await plainConnection(gateway.port), 'CLOUDPACS'), refused);
  });
});

test('with tls.commitmentReportsOnPlainPort the cloud AE title may send reports on the plain port too', async () => {
  const pki = makeTestPki(tempDir('sc-plain-pki'));
  const gateway = await startGateway({
    dataDir: tempDir('sc-plain'),
    database: await createTestDatabase(),
    aeTitle: 'SCSENDGW',
    config: {
      tls: { port: await freePort(), certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, commitmentReportsOnPlainPort: true },
      upstream: { kind: 'dicom-tls', host: '127.0.0.1', port: await freePort(), calledAeTitle: 'CLOUDPACS' },
    },
  });
  try {
    assert.deepEqual(await propose(await plainConnection(gateway.port), 'CLOUDPACS'), { verification: ContextResult.Acceptance, commitment: ContextResult.Acceptance });
    assert.deepEqual(await propose(await plainConnection(gateway.port), 'INTRUDER'), { verification: ContextResult.Acceptance, commitment: ContextResult.AbstractSyntaxNotSupported });
  } finally {
    await gateway.stop();
  }
});
