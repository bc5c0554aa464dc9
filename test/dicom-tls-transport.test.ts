// The DICOM-TLS transport against a real Orthanc over mutual TLS (byte-exact delivery, association reuse, refused
// client certificate, unknown AE title) and against the cloud simulator's DICOM-TLS SCP (faults: refused association,
// A-ABORT, silent peer, error statuses, bad server certificates).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { UpstreamConfig } from '../agent/config/upstream-config';
import { classifyStoreStatus } from '../agent/dicom/status';
import { createDicomTlsTransport, type DicomTlsTransport } from '../agent/upload/dicom-tls-transport';
import type { OutgoingInstance, Pacer } from '../agent/upload/transport';
import { startConnectProxy } from './cloud-simulator/connect-proxy';
import { makeCloudPki, type CloudPki } from './cloud-simulator/pki';
import { startDicomTlsScp, type DicomTlsScp } from './cloud-simulator/dicom-tls-scp';
import { listDebianSamples } from './fixtures/debian-samples';
import { readPart10Meta } from './fixtures/part10';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';
import { datasetBytes } from './helpers/dcmtk';
import { startOrthanc, type Orthanc } from './helpers/orthanc';
import { tempDir } from './helpers/temp-dir';

const GATEWAY_AE = 'GATEWAY_TEST';

function outgoing(filePath: string): OutgoingInstance {
  const meta = readPart10Meta(filePath)!;
  const dataset = datasetBytes(filePath);
  return {
    sopInstanceUid: meta.mediaStorageSopInstanceUid!,
    studyUid: 'unused',
    sopClassUid: meta.mediaStorageSopClassUid!,
    transferSyntaxUid: meta.transferSyntaxUid!,
    spoolPath: path.basename(filePath),
    fileBytes: fs.statSync(filePath).size,
    datasetSha256: crypto.createHash('sha256').update(dataset).digest(),
    attempts: 1,
    filePath,
  };
}

function countingPacer(): Pacer & { bytes: number; calls: number } {
  const pacer = {
    bytes: 0,
    calls: 0,
    async take(n: number) {
      pacer.bytes += n;
      pacer.calls++;
    },
  };
  return pacer;
}

function upstreamFor(pki: CloudPki, port: number, overrides: Partial<UpstreamConfig> = {}): UpstreamConfig {
  return {
    kind: 'dicom-tls',
    host: '127.0.0.1',
    port,
    calledAeTitle: 'CLOUDPACS',
    caFile: pki.caFile,
    certFile: pki.clientCertFile,
    keyFile: pki.clientKeyFile,
    storageCommitment: false,
    ...overrides,
  };
}

let pki: CloudPki;
let spool: string;
let ct: OutgoingInstance[];
let samples: OutgoingInstance[];
/** Files Orthanc does not store verbatim (its DCMTK rewrites them: drops dataset group lengths); byte-exact checked with the simulator. */
let rewrittenByOrthanc: OutgoingInstance[];
/** pydicom's image_dfl.dcm: an odd-length deflated bitstream, sent with the one trailing NULL byte PS3.5 A.5 prescribes. */
let deflated: OutgoingInstance[];

before(() => {
  const dir = tempDir('dicom-tls');
  pki = makeCloudPki(path.join(dir, 'pki'));
  spool = path.join(dir, 'spool');
  fs.mkdirSync(spool, { recursive: true });
  const series = writeSyntheticCtSeries(spool, { slices: 4, rows: 64, columns: 64, seed: 7 });
  ct = series.files.map(outgoing);
  // Other transfer syntaxes, as a modality sent them (copied into the spool as they are).
  const all = listDebianSamples({ sendableByStorescu: true, uniqueSopInstanceUids: true });
  const pick = (wanted: RegExp[], prefix: string) =>
    all
      .filter((s) => wanted.some((re) => re.test(s.path)))
      .map((sample, i) => {
        const copy = path.join(spool, `${prefix}-${i}.dcm`);
        fs.copyFileSync(sample.path, copy);
        return outgoing(copy);
      });
  // JPEG baseline, JPEG 2000 lossless, JPEG lossless SV1, implicit VR LE (197 KB: many PDUs).
  samples = pick([/SC_rgb_dcmtk_\+eb\+cr\.dcm$/, /GDCMJ2K_TextGBR\.dcm$/, /SC_rgb_jpeg_gdcm\.dcm$/, /SC_rgb_jpeg_dcmd\.dcm$/], 'sample');
  // JPEG 2000 and explicit VR LE files with group length elements, a waveform, an ISO 2022 Korean one.
  deflated = pick([/image_dfl\.dcm$/], 'deflated');
  rewrittenByOrthanc = pick([/693_J2KI\.dcm$/, /liver_1frame\.dcm$/, /waveform_ecg\.dcm$/, /chrKoreanMulti\.dcm$/], 'rewritten');
});

describe('with Orthanc over mutual TLS', () => {
  let orthanc: Orthanc;
  before(async () => {
    orthanc = await startOrthanc({ dir: tempDir('orthanc'), pki, modalities: { gateway: [GATEWAY_AE, '127.0.0.1', 4104] } });
  });
  after(async () => {
    await orthanc?.stop();
  });

  test('delivers every instance byte for byte, several batches over one association', async () => {
    assert.ok(samples.length >= 3, `Debian samples in other transfer syntaxes are installed (found ${samples.length})`);
    const pacer = countingPacer();
    const transport = createDicomTlsTransport(upstreamFor(pki, orthanc.dicomPort), GATEWAY_AE, pacer);
    const started = Date.now();
    try {
      const first = await transport.send(ct.slice(0, 2));
      assert.deepEqual(first.failed, []);
      assert.equal(first.delivered.length, 2);
      const second = await transport.send(ct.slice(2));
      assert.deepEqual(second.failed, []);
      assert.equal(transport.stats.associations, 1, 'the second batch went over the same association');
      assert.equal(transport.stats.associationsReused, 1);
      const third = await transport.send(samples);
      assert.deepEqual(third.failed, []);
      assert.equal(third.delivered.length, samples.length);
      assert.equal(transport.stats.associations, 2, 'new transfer syntaxes: one new association');
    } finally {
      await transport.close();
    }
    const elapsed = Date.now() - started;
    const all = [...ct, ...samples];
    const expectedBytes = all.reduce((sum, i) => sum + datasetBytes(i.filePath).length, 0);
    assert.equal(pacer.bytes, expectedBytes, 'every dataset byte went through the pacer');
    const ids = await orthanc.instancesBySopInstanceUid();
    for (const instance of all) {
      const id = ids.get(instance.sopInstanceUid);
      assert.ok(id, `Orthanc has ${instance.sopInstanceUid}`);
      const stored = await orthanc.instanceFile(id);
      const storedDataset = datasetBytes(storedFile(stored));
      const sent = datasetBytes(instance.filePath);
      assert.ok(storedDataset.equals(sent), `dataset of ${path.basename(instance.filePath)} (${instance.transferSyntaxUid}) is byte-identical: ${storedDataset.length} vs ${sent.length} bytes`);
    }
    const associationLines = orthanc
      .log()
      .split('\n')
      .filter((line) => /Association Received/i.test(line));
    assert.equal(associationLines.length, 2, `Orthanc saw two associations:\n${associationLines.join('\n')}`);
    console.log(`# ${all.length} instances, ${expectedBytes} dataset bytes to Orthanc over DICOM-TLS in ${elapsed} ms`);
  });

  test('an odd-length deflated dataset is padded as PS3.5 A.5 says and Orthanc stores it', async () => {
    assert.equal(deflated.length, 1);
    assert.equal(datasetBytes(deflated[0].filePath).length % 2, 1, 'the sample is odd-length');
    const transport = createDicomTlsTransport(upstreamFor(pki, orthanc.dicomPort), GATEWAY_AE, countingPacer(), { responseTimeoutMs: 5000 });
    const outcome = await transport.send(deflated);
    await transport.close();
    assert.deepEqual(outcome.failed, []);
    assert.ok((await orthanc.instancesBySopInstanceUid()).has(deflated[0].sopInstanceUid));
  });

  test('a missing client certificate is refused by Orthanc with a clear error', async () => {
    const transport = createDicomTlsTransport(upstreamFor(pki, orthanc.dicomPort, { certFile: undefined, keyFile: undefined }), GATEWAY_AE, countingPacer(), { responseTimeoutMs: 5000 });
    const started = Date.now();
    const outcome = await transport.send(ct.slice(0, 2));
    await transport.close();
    assert.equal(outcome.delivered.length, 0);
    assert.equal(outcome.failed.length, 2);
    for (const failure of outcome.failed) {
      assert.equal(failure.permanent, false);
      assert.match(failure.error, /client certificate|certFile/i, failure.error);
    }
    assert.ok(Date.now() - started < 6000);
  });

  test('an AE title the cloud does not know: transient failure naming upstream.calledAeTitle', async () => {
    const transport = createDicomTlsTransport(upstreamFor(pki, orthanc.dicomPort, { calledAeTitle: 'NOTCLOUD' }), GATEWAY_AE, countingPacer());
    const outcome = await transport.send(ct.slice(0, 1));
    await transport.close();
    assert.equal(outcome.failed.length, 1);
    assert.equal(outcome.failed[0].permanent, false);
    assert.match(outcome.failed[0].error, /the cloud does not know AE title NOTCLOUD: check upstream.calledAeTitle/);
  });
});

/** Removes Orthanc's preamble+meta from its file: a temp path for datasetBytes. */
function storedFile(bytes: Buffer): string {
  const file = path.join(tempDir('orthanc-file'), 'stored.dcm');
  fs.writeFileSync(file, bytes);
  return file;
}

describe('with the cloud simulator', () => {
  const scps: DicomTlsScp[] = [];
  const transports: DicomTlsTransport[] = [];
  after(async () => {
    for (const transport of transports) await transport.close();
    for (const scp of scps) await scp.close();
  });
  async function simulator(options: Partial<Parameters<typeof startDicomTlsScp>[0]> = {}): Promise<DicomTlsScp> {
    const scp = await startDicomTlsScp({ certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caFile, requireClientCertificate: true, aeTitle: 'CLOUDPACS', ...options });
    scps.push(scp);
    return scp;
  }
  function transportTo(scp: DicomTlsScp, options: Parameters<typeof createDicomTlsTransport>[3] = {}, overrides: Partial<UpstreamConfig> = {}): DicomTlsTransport {
    const transport = createDicomTlsTransport(upstreamFor(pki, scp.port, overrides), GATEWAY_AE, countingPacer(), options);
    transports.push(transport);
    return transport;
  }

  test('byte-exact, in PDUs no larger than the peer allows; re-associates after the peer dropped the association', async () => {
    const scp = await simulator({ maxPduLength: 4096, storeDir: tempDir('sim-store') });
    const transport = transportTo(scp);
    const batch = [...ct, ...samples, ...rewrittenByOrthanc, ...deflated];
    assert.ok(rewrittenByOrthanc.length >= 3);
    const outcome = await transport.send(batch);
    assert.deepEqual(outcome.failed, []);
    assert.ok(scp.largestPdu <= 4096, `largest PDU ${scp.largestPdu}`);
    for (const instance of batch) {
      const stored = scp.stored.find((s) => s.sopInstanceUid === instance.sopInstanceUid);
      const sent = datasetBytes(instance.filePath);
      const expected = sent.length % 2 === 1 ? Buffer.concat([sent, Buffer.alloc(1)]) : sent;
      assert.ok(stored && stored.dataset.equals(expected), instance.filePath);
      assert.equal(stored.transferSyntaxUid, instance.transferSyntaxUid);
      assert.equal(stored.callingAe, GATEWAY_AE);
    }
    assert.equal(scp.associations, 1);
    scp.dropConnections();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const again = await transport.send(ct.slice(0, 1));
    assert.deepEqual(again.failed, []);
    assert.equal(scp.associations, 2);
  });

  test('an idle association is released and the next batch opens a new one', async () => {
    const scp = await simulator();
    const transport = transportTo(scp, { idleTimeoutMs: 200 });
    assert.equal((await transport.send(ct.slice(0, 1))).delivered.length, 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await transport.send(ct.slice(1, 2))).delivered.length, 1);
    assert.equal(scp.associations, 2);
  });

  test('a refused association is a transient failure with its cause', async () => {
    const scp = await simulator({ behavior: { mode: 'reject', result: 2, source: 3, reason: 2 } });
    const outcome = await transportTo(scp).send(ct.slice(0, 2));
    assert.equal(outcome.failed.length, 2);
    assert.ok(
      outcome.failed.every((f) => !f.permanent && /association rejected transiently .*too many associations/.test(f.error)),
      outcome.failed[0].error,
    );
  });

  test('calling AE not recognized: names our AE title', async () => {
    const scp = await simulator({ behavior: { mode: 'reject', result: 1, source: 1, reason: 3 } });
    const outcome = await transportTo(scp).send(ct.slice(0, 1));
    assert.equal(outcome.failed[0].permanent, false);
    assert.match(outcome.failed[0].error, new RegExp(`does not accept our AE title ${GATEWAY_AE}`));
  });

  test('an A-ABORT mid-transfer fails the instance transiently, fast', async () => {
    const scp = await simulator({ behavior: { mode: 'abort', afterBytes: 100 }, maxPduLength: 1024 });
    const started = Date.now();
    const outcome = await transportTo(scp, { responseTimeoutMs: 1500 }).send(ct);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.equal(outcome.delivered.length, 0);
    assert.equal(outcome.failed.length, ct.length);
    assert.equal(scp.associations, 2, 'one more association after an abort, then the rest of the batch fails');
    assert.ok(
      outcome.failed.every((f) => !f.permanent),
      JSON.stringify(outcome.failed.map((f) => f.error)),
    );
    assert.match(outcome.failed[0].error, /abort|closed|reset/i);
  });

  test('a silent peer ends the attempt within the response timeout', { timeout: 5000 }, async () => {
    const scp = await simulator({ behavior: { mode: 'silent' } });
    const started = Date.now();
    const outcome = await transportTo(scp, { responseTimeoutMs: 1000 }).send(ct);
    const took = Date.now() - started;
    assert.ok(took < 2500, `a whole batch ends within one timeout: took ${took} ms`);
    assert.equal(outcome.failed.length, ct.length);
    assert.ok(outcome.failed.every((f) => !f.permanent && /did not answer within 1 s/.test(f.error)));
  });

  test('a peer that never answers the association request ends within the response timeout', { timeout: 5000 }, async () => {
    const scp = await simulator({ behavior: { mode: 'silent-association' } });
    const started = Date.now();
    const outcome = await transportTo(scp, { responseTimeoutMs: 1000 }).send(ct.slice(0, 2));
    assert.ok(Date.now() - started < 2500);
    assert.equal(outcome.failed.length, 2);
    assert.match(outcome.failed[0].error, /did not answer/);
  });

  for (const [status, delivered, permanent] of [
    [0xa700, false, false],
    [0xa702, false, false],
    [0x0110, false, false],
    [0xa900, false, true],
    [0xc000, false, true],
    [0x0122, false, true],
    [0xb000, true, false],
    [0xb007, true, false],
  ] as const) {
    test(`C-STORE status 0x${status.toString(16).toUpperCase()}: ${delivered ? 'delivered' : permanent ? 'permanent failure' : 'transient failure'}`, async () => {
      const scp = await simulator({ behavior: { mode: 'status', status, errorComment: 'simulated' } });
      const transport = transportTo(scp);
      const outcome = await transport.send(ct.slice(0, 2));
      assert.equal(outcome.delivered.length, delivered ? 2 : 0);
      assert.equal(outcome.failed.length, delivered ? 0 : 2);
      for (const failure of outcome.failed) {
        assert.equal(failure.permanent, permanent);
        assert.match(failure.error, new RegExp(`0x${status.toString(16).toUpperCase().padStart(4, '0')}.*simulated`));
      }
      assert.equal(scp.associations, 1, 'a failure status keeps the association');
    });
  }

  test('a context the cloud rejects fails those instances permanently, the others are delivered', async () => {
    const scp = await simulator({ acceptedTransferSyntaxes: ['1.2.840.10008.1.2.1'] });
    const jpeg = samples.find((s) => s.transferSyntaxUid !== '1.2.840.10008.1.2.1')!;
    const outcome = await transportTo(scp).send([ct[0], jpeg, ct[1]]);
    assert.equal(outcome.delivered.length, 2);
    assert.equal(outcome.failed.length, 1);
    assert.equal(outcome.failed[0].instance, jpeg);
    assert.equal(outcome.failed[0].permanent, true);
    assert.match(outcome.failed[0].error, /does not accept transfer syntax/);
  });

  for (const [name, cert, key, pattern] of [
    ['expired', () => pki.expiredCertFile, () => pki.expiredKeyFile, /expired/],
    ['wrong-host', () => pki.wrongHostCertFile, () => pki.wrongHostKeyFile, /host name mismatch|ALTNAME/],
    ['unknown-CA', () => pki.rogueServerCertFile, () => pki.rogueServerKeyFile, /unknown issuer.*Intercepting Proxy CA|caFile/],
  ] as const) {
    test(`a server certificate that is ${name} is refused and named`, async () => {
      const scp = await simulator({ certFile: cert(), keyFile: key() });
      const outcome = await transportTo(scp).send(ct.slice(0, 1));
      assert.equal(outcome.failed.length, 1);
      assert.equal(outcome.failed[0].permanent, false);
      assert.match(outcome.failed[0].error, pattern);
      assert.equal(scp.associations, 0);
    });
  }

  test('through an HTTP CONNECT proxy with Basic authentication; the certificate is checked against the cloud, not the proxy', async () => {
    const scp = await simulator();
    const proxy = await startConnectProxy({ auth: { user: 'gw', password: 's3cret' } });
    try {
      const transport = transportTo(scp, {}, { proxy: proxy.url });
      const outcome = await transport.send(ct.slice(0, 2));
      assert.deepEqual(outcome.failed, []);
      assert.equal(proxy.tunnels, 1);
      assert.equal(proxy.requests[0].target, `127.0.0.1:${scp.port}`);
      const wrong = await transportTo(scp, {}, { proxy: proxy.urlWith('gw', 'wrong') }).send(ct.slice(0, 1));
      assert.match(wrong.failed[0].error, /407/);
    } finally {
      await proxy.stop();
    }
  });

  test('a port that accepts TCP but never does TLS ends within the connect timeout', { timeout: 5000 }, async () => {
    const server = net.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const transport = createDicomTlsTransport(upstreamFor(pki, port), GATEWAY_AE, countingPacer(), { connectTimeoutMs: 700 });
      const started = Date.now();
      const outcome = await transport.send(ct.slice(0, 1));
      await transport.close();
      assert.ok(Date.now() - started < 2000);
      assert.match(outcome.failed[0].error, /TLS handshake .* did not complete within 0.7 s/);
    } finally {
      server.close();
    }
  });

  test('nothing listening: transient failure, quickly', async () => {
    const transport = createDicomTlsTransport(upstreamFor(pki, 1), GATEWAY_AE, countingPacer());
    const outcome = await transport.send(ct.slice(0, 2));
    await transport.close();
    assert.equal(outcome.failed.length, 2);
    assert.match(outcome.failed[0].error, /refused/);
  });

  test('an odd-length dataset that is not deflated is not sent (permanent: malformed)', async () => {
    const scp = await simulator();
    const odd = path.join(spool, 'odd.dcm');
    fs.writeFileSync(odd, Buffer.concat([fs.readFileSync(ct[0].filePath), Buffer.from([0x41])]));
    const outcome = await transportTo(scp).send([{ ...ct[0], filePath: odd }, ct[1]]);
    assert.equal(outcome.delivered.length, 1);
    assert.equal(outcome.failed[0].permanent, true);
    assert.match(outcome.failed[0].error, /odd length/);
  });

  test('a spool file that is gone fails permanently; the rest of the batch goes on', async () => {
    const scp = await simulator();
    const missing = { ...ct[0], sopInstanceUid: '1.2.3.4.5.6', filePath: path.join(spool, 'gone.dcm') };
    const outcome = await transportTo(scp).send([missing, ct[1]]);
    assert.equal(outcome.delivered.length, 1);
    assert.equal(outcome.failed[0].instance, missing);
    assert.equal(outcome.failed[0].permanent, true);
  });
});

test('status classification follows PS3.4 Annex B', () => {
  assert.equal(classifyStoreStatus(0x0000).delivered, true);
  assert.equal(classifyStoreStatus(0xb006).delivered, true);
  assert.equal(classifyStoreStatus(0xa7ff).permanent, false);
  assert.equal(classifyStoreStatus(0xa9ff).permanent, true);
  assert.equal(classifyStoreStatus(0xcfff).permanent, true);
  assert.equal(classifyStoreStatus(0x0122).permanent, true);
  assert.equal(classifyStoreStatus(0x1234).permanent, false);
});
