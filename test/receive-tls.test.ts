// The optional DICOM-TLS listener, with real certificates and DCMTK's TLS client.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../agent/db/embedded-postgres';
import { makeTestPki, type TestPki } from './helpers/certificates';
import { createTestDatabase } from './helpers/database';
import { datasetBytes, runDcmtk } from './helpers/dcmtk';
import { startGateway, type GatewayProcess } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';

describe('DICOM-TLS listener requiring client certificates', () => {
  let gateway: GatewayProcess;
  let pki: TestPki;
  let tlsPort: number;
  before(async () => {
    pki = makeTestPki(tempDir('pki'));
    tlsPort = await freePort();
    gateway = await startGateway({
      dataDir: tempDir('tls'),
      database: await createTestDatabase(),
      aeTitle: 'TLSGW',
      config: { tls: { port: tlsPort, certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caFile, requireClientCertificate: true } },
    });
  });
  after(() => gateway.stop());

  test('storescu with a client certificate stores over TLS, byte for byte', async () => {
    const series = writeSyntheticCtSeries(tempDir('tls-ct'), { slices: 5, rows: 128, columns: 128, seed: 3 });
    const sent = await runDcmtk('storescu', ['+tls', pki.clientKeyFile, pki.clientCertFile, '+cf', pki.caFile, '-aec', 'TLSGW', 'localhost', String(tlsPort), ...series.files]);
    assert.equal(sent.code, 0, sent.stderr);
    const studyFolder = fs.readdirSync(path.join(gateway.dataDir, 'spool')).find((f) => !f.startsWith('.'))!;
    const kept = fs.readdirSync(path.join(gateway.dataDir, 'spool', studyFolder));
    assert.equal(kept.length, 5);
    for (const [i, uid] of series.sopInstanceUids.entries()) {
      const name = kept.find((f) => f.startsWith(`${uid}_`))!;
      const ours = datasetBytes(path.join(gateway.dataDir, 'spool', studyFolder, name));
      assert.ok(ours.equals(datasetBytes(series.files[i])), `dataset ${i} kept as sent`);
    }
    await gateway.waitForLog(/"tls":true/);
  });

  test('a TLS client without a certificate is refused, and the plain port still works', async () => {
    const anonymous = await runDcmtk('echoscu', ['+tla', '+cf', pki.caFile, '-aec', 'TLSGW', 'localhost', String(tlsPort)]);
    assert.notEqual(anonymous.code, 0);
    await gateway.waitForLog(/DICOM-TLS handshake failed|"tls":true,.*"outcome":"(error|closed)"/);
    const plain = await runDcmtk('echoscu', ['-aec', 'TLSGW', '127.0.0.1', String(gateway.port)]);
    assert.equal(plain.code, 0, plain.stderr);
  });

  test('a plain DICOM client on the TLS port gets no association', async () => {
    const plainOnTls = await runDcmtk('echoscu', ['-to', '5', '-aec', 'TLSGW', '127.0.0.1', String(tlsPort)]);
    assert.notEqual(plainOnTls.code, 0);
    assert.equal(gateway.child.exitCode, null);
  });
});

describe('DICOM-TLS listener with optional client certificates', () => {
  let gateway: GatewayProcess;
  let pki: TestPki;
  let rogue: TestPki;
  let tlsPort: number;
  before(async () => {
    pki = makeTestPki(tempDir('pki-optional'));
    rogue = makeTestPki(tempDir('pki-rogue'));
    tlsPort = await freePort();
    gateway = await startGateway({
      dataDir: tempDir('tls-optional'),
      database: await createTestDatabase(),
      aeTitle: 'TLSOPTGW',
      config: { tls: { port: tlsPort, certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caFile, requireClientCertificate: false } },
    });
  });
  after(() => gateway.stop());

  test('a presented certificate that does not verify is refused; a valid one or none is accepted', async () => {
    const untrusted = await runDcmtk('echoscu', ['+tls', rogue.clientKeyFile, rogue.clientCertFile, '+cf', pki.caFile, '-aec', 'TLSOPTGW', 'localhost', String(tlsPort)]);
    assert.notEqual(untrusted.code, 0);
    await gateway.waitForLog(/DICOM-TLS client certificate refused: it does not verify/);
    assert.equal(gateway.logLines().filter((line) => line.message === 'association ended').length, 0, 'no association for the refused certificate');

    const trusted = await runDcmtk('echoscu', ['+tls', pki.clientKeyFile, pki.clientCertFile, '+cf', pki.caFile, '-aec', 'TLSOPTGW', 'localhost', String(tlsPort)]);
    assert.equal(trusted.code, 0, trusted.stderr);
    const anonymous = await runDcmtk('echoscu', ['+tla', '+cf', pki.caFile, '-aec', 'TLSOPTGW', 'localhost', String(tlsPort)]);
    assert.equal(anonymous.code, 0, anonymous.stderr);
  });
});

describe('DICOM-TLS client certificates mapped to calling AE titles (tls.clientCertificateAeTitles)', () => {
  let gateway: GatewayProcess;
  let pki: TestPki;
  let tlsPort: number;
  before(async () => {
    pki = makeTestPki(tempDir('pki-mapped'));
    tlsPort = await freePort();
    gateway = await startGateway({
      dataDir: tempDir('tls-mapped'),
      database: await createTestDatabase(),
      aeTitle: 'TLSMAPGW',
      config: {
        tls: {
          port: tlsPort,
          certFile: pki.serverCertFile,
          keyFile: pki.serverKeyFile,
          caFile: pki.caFile,
          requireClientCertificate: false,
          clientCertificateAeTitles: { 'Modality CT1': ['CT1', 'CT1_B'] },
        },
      },
    });
  });
  after(() => gateway.stop());

  test("the certificate of CN 'Modality CT1' may associate as CT1, not as another AE title; no certificate is not affected", async () => {
    const client = ['+tls', pki.clientKeyFile, pki.clientCertFile, '+cf', pki.caFile, '-aec', 'TLSMAPGW'];
    const own = await runDcmtk('echoscu', [...client, '-aet', 'CT1', 'localhost', String(tlsPort)]);
    assert.equal(own.code, 0, own.stderr);
    const other = await runDcmtk('echoscu', [...client, '-aet', 'MR9', 'localhost', String(tlsPort)]);
    assert.notEqual(other.code, 0);
    assert.match(other.stderr + other.stdout, /Calling AE Title Not Recognized/i);
    await gateway.waitForLog(/calling AE title \\"MR9\\" is not one the client certificate CN \\"Modality CT1\\" may use/);
    const anonymous = await runDcmtk('echoscu', ['+tla', '+cf', pki.caFile, '-aec', 'TLSMAPGW', '-aet', 'MR9', 'localhost', String(tlsPort)]);
    assert.equal(anonymous.code, 0, anonymous.stderr);
  });
});
