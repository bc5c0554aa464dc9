// Storage Commitment (PS3.4 J): a study is done only once the cloud has committed every instance. Against Orthanc,
// which answers N-ACTION and sends its report on a new association to the gateway's listener; and against the
// project's DICOM-TLS simulator, which reports on the same association, with a failed instance.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { freePort } from '../agent/db/embedded-postgres';
import { createTestDatabase, query } from './helpers/database';
import { runDcmtk } from './helpers/dcmtk';
import { GATEWAY_BIN, launchGateway, startGateway, type GatewayProcess } from './helpers/gateway-process';
import { startOrthanc } from './helpers/orthanc';
import { tempDir } from './helpers/temp-dir';
import { makeCloudPki } from './cloud-simulator/pki';
import { startDicomTlsScp } from './cloud-simulator/dicom-tls-scp';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';
import { encodeCommitmentDataset, parseCommitmentReport, type CommitmentReport } from '../agent/upload/commitment-dataset';
import { createDicomTlsTransport } from '../agent/upload/dicom-tls-transport';
import { outgoingSeries } from './cloud-simulator/outgoing';
import { waitFor } from './helpers/wait';

const STUDIES = { seriesQuietSeconds: 1, studyQuietSeconds: 1, forceCompleteMinutes: 60 };

async function states(databaseUrl: string): Promise<Record<string, number>> {
  const rows = await query(databaseUrl, 'SELECT state, count(*)::int AS n FROM uploads GROUP BY state ORDER BY state');
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

describe('Storage Commitment', () => {
  test('report datasets: defined lengths as we encode them, undefined lengths as DCMTK sends them', () => {
    const ct = '1.2.840.10008.5.1.4.1.1.2';
    const report = { transactionUid: '2.25.1', committed: [{ sopClassUid: ct, sopInstanceUid: '1.2.3' }], failed: [{ sopClassUid: ct, sopInstanceUid: '1.2.45', reason: 0x0112 }] };
    assert.deepEqual(parseCommitmentReport(encodeCommitmentDataset(report.transactionUid, report.committed, report.failed)), report);
    // The same with undefined-length sequences and items (FFFE,E000 / E00D / E0DD delimiters).
    const tag = (group: number, element: number, length: number) => {
      const b = Buffer.alloc(8);
      b.writeUInt16LE(group, 0);
      b.writeUInt16LE(element, 2);
      b.writeUInt32LE(length, 4);
      return b;
    };
    const ui = (element: number, value: string) => Buffer.concat([tag(0x0008, element, value.length + (value.length % 2)), Buffer.from(value.length % 2 ? `${value}\0` : value, 'latin1')]);
    const us = (element: number, value: number) => Buffer.concat([tag(0x0008, element, 2), Buffer.from([value & 0xff, value >> 8])]);
    const open = (element: number) => tag(0x0008, element, 0xffffffff);
    const item = (...fields: Buffer[]) => Buffer.concat([tag(0xfffe, 0xe000, 0xffffffff), ...fields, tag(0xfffe, 0xe00d, 0)]);
    const end = tag(0xfffe, 0xe0dd, 0);
    const undefinedLengths = Buffer.concat([
      ui(0x1195, '2.25.1'),
      open(0x1198),
      item(ui(0x1150, ct), ui(0x1155, '1.2.45'), us(0x1197, 0x0112)),
      end,
      open(0x1199),
      item(ui(0x1150, ct), ui(0x1155, '1.2.3')),
      end,
    ]);
    assert.deepEqual(parseCommitmentReport(undefinedLengths), report);
    assert.throws(() => parseCommitmentReport(ui(0x1199, 'x')), /without a Transaction UID|sequence/);
  });

  test('storescu -> gateway -> Orthanc: every instance committed (report on a new association), study done, receipt in `gateway status`', async () => {
    const pki = makeCloudPki(tempDir('sc-orthanc-pki'));
    const gatewayPort = await freePort();
    // Orthanc sends its reports to the modality the request came from: it must know the gateway (AE, host, port).
    const orthanc = await startOrthanc({ dir: tempDir('sc-orthanc'), pki, modalities: { gateway: ['SCGW', '127.0.0.1', gatewayPort] } });
    const databaseUrl = await createTestDatabase();
    const gateway = await startGateway({
      dataDir: tempDir('sc-orthanc-gw'),
      database: databaseUrl,
      aeTitle: 'SCGW',
      port: gatewayPort,
      config: {
        upstream: { kind: 'dicom-tls', host: 'localhost', port: orthanc.dicomPort, calledAeTitle: orthanc.aeTitle, caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile },
        upload: { workers: 2, batchMaxInstances: 6, retryBaseSeconds: 1, retryMaxSeconds: 2 },
        studies: STUDIES,
      },
    });
    try {
      const series = writeSyntheticCtSeries(tempDir('sc-orthanc-ct'), { slices: 12, rows: 64, columns: 64, seed: 21 });
      assert.equal((await runDcmtk('storescu', ['-aec', 'SCGW', '127.0.0.1', String(gatewayPort), ...series.files])).code, 0);
      await waitFor('every instance committed', async () => (await query(databaseUrl, 'SELECT count(*)::int AS n FROM uploads WHERE committed_at IS NOT NULL'))[0].n === 12);
      await waitFor('the study done', async () => (await query(databaseUrl, 'SELECT done_at FROM studies'))[0].done_at !== null, 30000);
      const commitments = await query(databaseUrl, 'SELECT instances, committed, failed, reported_at FROM storage_commitments');
      assert.ok(commitments.length >= 2, 'one request per batch');
      assert.ok(commitments.every((c) => c.reported_at !== null && c.failed === 0 && c.committed === c.instances));
      assert.equal((await orthanc.listInstances()).length, 12);
      const status = execFileSync(process.execPath, [GATEWAY_BIN, 'status', '--config', gateway.configFile], { encoding: 'utf8' });
      assert.match(status, new RegExp(`Receipt\\s+${series.studyInstanceUid.replace(/\./g, '\\.')}: 12 instances`));
      assert.ok(
        gateway.logLines().some((l) => l.message === 'storage commitment report' && String(l.via).startsWith('association from')),
        'the report came on a new association',
      );
    } finally {
      await gateway.stop();
      await orthanc.stop();
    }
  });

  test('the transport: the report comes on the kept association between batches; a cloud rejecting the SOP class does not commit', async () => {
    const pki = makeCloudPki(tempDir('sc-transport-pki'));
    const cloud = await startDicomTlsScp({ certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, aeTitle: 'CLOUDSIM' });
    const instances = outgoingSeries(tempDir('sc-transport-ct'), { slices: 3, rows: 32, columns: 32, seed: 25 });
    const reports: CommitmentReport[] = [];
    const upstream = { kind: 'dicom-tls' as const, host: 'localhost', port: cloud.port, calledAeTitle: 'CLOUDSIM', caFile: pki.caFile, storageCommitment: true };
    const pacer = { take: async () => undefined };
    const transport = createDicomTlsTransport(upstream, 'SCTRANSPORT', pacer, { onCommitmentReport: async (report) => void reports.push(report) });
    try {
      const outcome = await transport.send(instances);
      assert.equal(outcome.delivered.length, 3);
      assert.equal(outcome.commitmentAvailable, true);
      assert.deepEqual(await transport.requestCommitment!('2.25.42', instances), { requested: true });
      await waitFor('the report', async () => reports.length === 1, 5000);
      assert.deepEqual(reports[0], { transactionUid: '2.25.42', committed: instances.map(({ sopClassUid, sopInstanceUid }) => ({ sopClassUid, sopInstanceUid })), failed: [] });
      assert.equal(cloud.commitmentRequests[0].reportAnswer, 0, 'answered N-EVENT-REPORT-RSP success');
      assert.equal(cloud.associations, 1, 'one association for stores, request and report');

      cloud.commitment.reject = true;
      const refusing = createDicomTlsTransport(upstream, 'SCTRANSPORT', pacer);
      try {
        const again = await refusing.send(instances);
        assert.equal(again.delivered.length, 3);
        assert.equal(again.commitmentAvailable, false);
      } finally {
        await refusing.close();
      }
    } finally {
      await transport.close();
      await cloud.close();
    }
  });

  test('the transport: an N-ACTION the cloud aborts is a refusal (it will not commit for us); a cloud out of reach is not', async () => {
    const pki = makeCloudPki(tempDir('sc-abort-pki'));
    const cloud = await startDicomTlsScp({ certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, aeTitle: 'CLOUDSIM', commitment: { abortAction: true } });
    const instances = outgoingSeries(tempDir('sc-abort-ct'), { slices: 2, rows: 32, columns: 32, seed: 26 });
    const upstream = { kind: 'dicom-tls' as const, host: 'localhost', port: cloud.port, calledAeTitle: 'CLOUDSIM', caFile: pki.caFile, storageCommitment: true };
    const transport = createDicomTlsTransport(upstream, 'SCABORT', { take: async () => undefined }, { connectTimeoutMs: 2000 });
    try {
      assert.equal((await transport.send(instances)).delivered.length, 2);
      const aborted = await transport.requestCommitment!('2.25.43', instances);
      assert.equal(aborted.requested, false);
      assert.ok(!aborted.requested && aborted.refused, 'an abort after the N-ACTION is a refusal');
      assert.match(!aborted.requested ? aborted.error : '', /aborted the storage commitment request .*register this gateway/);
      await cloud.close();
      const unreachable = createDicomTlsTransport(upstream, 'SCABORT', { take: async () => undefined }, { connectTimeoutMs: 2000 });
      try {
        const failed = await unreachable.requestCommitment!('2.25.44', instances);
        assert.ok(!failed.requested && !failed.refused, 'a connection that cannot be made is not a refusal');
      } finally {
        await unreachable.close();
      }
    } finally {
      await transport.close();
      await cloud.close();
    }
  });

  describe('with the DICOM-TLS simulator (reports on the same association)', () => {
    const setUp = async (name: string, upload: Record<string, unknown> = {}) => {
      const pki = makeCloudPki(tempDir(`${name}-pki`));
      const cloud = await startDicomTlsScp({ certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, aeTitle: 'CLOUDSIM' });
      const databaseUrl = await createTestDatabase();
      const aeTitle = name
        .toUpperCase()
        .replace(/[^A-Z]/g, '')
        .slice(0, 16);
      const gateway = await startGateway({
        dataDir: tempDir(`${name}-gw`),
        database: databaseUrl,
        aeTitle,
        config: {
          upstream: { kind: 'dicom-tls', host: 'localhost', port: cloud.port, calledAeTitle: 'CLOUDSIM', caFile: pki.caFile },
          upload: { workers: 1, batchMaxInstances: 10, retryBaseSeconds: 1, retryMaxSeconds: 2, ...upload },
          studies: STUDIES,
          // Not under test here; off so that attempts and requests are counted on the spool files alone.
          compression: { enabled: false },
        },
      });
      const series = writeSyntheticCtSeries(tempDir(`${name}-ct`), { slices: 6, rows: 32, columns: 32, seed: 23 });
      const push = async () => assert.equal((await runDcmtk('storescu', ['-aec', aeTitle, '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
      const stop = async () => {
        await Promise.all([gateway.stop(), cloud.close()]);
      };
      return { cloud, databaseUrl, gateway, series, push, stop };
    };

    test('a failed instance is sent again (transient reason) or shown as failed (permanent); the rest committed', async () => {
      const { cloud, databaseUrl, gateway, series, push, stop } = await setUp('sc-faults');
      const [resent, refused] = series.sopInstanceUids;
      cloud.commitment.failInstances = new Map([
        [resent, { reason: 0x0110, times: 1 }],
        [refused, { reason: 0x0122, times: 99 }],
      ]);
      try {
        await push();
        await waitFor('five committed and one failed', async () => JSON.stringify(await states(databaseUrl)) === JSON.stringify({ done: 5, failed: 1 }));
        const rows = await query(databaseUrl, 'SELECT sop_instance_uid, attempts, committed_at, last_error FROM uploads');
        const byUid = new Map(rows.map((r) => [r.sop_instance_uid, r]));
        assert.equal(byUid.get(resent)!.attempts, 2, 'sent again after a processing failure');
        assert.notEqual(byUid.get(resent)!.committed_at, null);
        assert.match(byUid.get(refused)!.last_error, /storage commitment failed: 0x0122 referenced SOP class not supported/);
        assert.ok(rows.filter((r) => r.sop_instance_uid !== refused).every((r) => r.committed_at !== null));
        assert.ok(cloud.commitmentRequests.length >= 2 && cloud.commitmentRequests.every((r) => r.reportAnswer === 0), 'every report answered with success');
        await new Promise((resolve) => setTimeout(resolve, 3000));
        assert.equal((await query(databaseUrl, 'SELECT done_at FROM studies'))[0].done_at, null, 'not done while an instance is not committed');
        const status = execFileSync(process.execPath, [GATEWAY_BIN, 'status', '--config', gateway.configFile], { encoding: 'utf8' });
        assert.match(status, /FAILED UPLOADS\s+1 instances/);
        assert.ok(gateway.logLines().some((l) => l.message === 'storage commitment report' && l.via === 'upload association'));
      } finally {
        await stop();
      }
    });

    test('no report within upload.commitTimeoutSeconds, across a crash of the agent: the instances are sent and committed again', async () => {
      const { cloud, databaseUrl, gateway, push, stop } = await setUp('sc-timeout', { commitTimeoutSeconds: 5 });
      cloud.commitment.neverReport = true;
      let restarted: GatewayProcess | undefined;
      try {
        await push();
        await waitFor('stored, waiting for the report', async () => JSON.stringify(await states(databaseUrl)) === JSON.stringify({ sent: 6 }));
        await gateway.kill();
        // One request, or more when the uploader claimed the series in parts while it arrived.
        const requestsBefore = cloud.commitmentRequests.length;
        cloud.commitment.neverReport = false;
        restarted = await launchGateway(gateway.configFile, gateway.port, gateway.aeTitle, gateway.dataDir);
        await waitFor('every instance committed after the timeout', async () => (await query(databaseUrl, 'SELECT count(*)::int AS n FROM uploads WHERE committed_at IS NOT NULL'))[0].n === 6, 30000);
        const rows = await query(databaseUrl, 'SELECT attempts FROM uploads');
        assert.ok(
          rows.every((r) => r.attempts === 2),
          'each sent twice',
        );
        assert.ok(cloud.commitmentRequests.length > requestsBefore, 'commitment requested again after the restart');
        assert.ok(restarted.logLines().some((l) => l.message === 'no storage commitment report in time: instances queued to be sent again'));
        await waitFor('the study done', async () => (await query(databaseUrl, 'SELECT done_at FROM studies'))[0].done_at !== null, 30000);
      } finally {
        await restarted?.stop();
        await stop();
      }
    });

    test('a cloud that refuses the N-ACTION does not commit: C-STORE success confirms, as without Storage Commitment', async () => {
      const { cloud, databaseUrl, push, stop } = await setUp('sc-refused');
      cloud.commitment.actionStatus = 0x0112;
      try {
        await push();
        await waitFor('the study done', async () => (await query(databaseUrl, 'SELECT done_at FROM studies'))[0].done_at !== null, 30000);
        assert.equal((await query(databaseUrl, "SELECT count(*)::int AS n FROM uploads WHERE committed_at IS NULL AND state = 'done'"))[0].n, 6);
        assert.equal(cloud.commitmentRequests.length, 1);
      } finally {
        await stop();
      }
    });
  });
});
