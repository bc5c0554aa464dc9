// storescu -> gateway -> cloud (the STOW-RS simulator over HTTPS): every instance arrives as sent (compressed
// lossless by the default rules, the same image), the study completes with a receipt; an outage and a crash of the
// agent lose nothing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { createTestDatabase, query } from './helpers/database';
import { runDcmtk } from './helpers/dcmtk';
import { GATEWAY_BIN, launchGateway, startGateway, type GatewayProcess } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';
import { makeCloudPki, type CloudPki } from './cloud-simulator/pki';
import { startStowRsSimulator, type StowRsSimulator } from './cloud-simulator/stow-rs-server';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';
import { datasetBytes } from './helpers/dcmtk';
import { assertSameImage, sentFile } from './helpers/compression';
import { startOrthanc } from './helpers/orthanc';
import { startDicomTlsScp } from './cloud-simulator/dicom-tls-scp';
import { waitFor } from './helpers/wait';

function stowGatewayConfig(cloud: StowRsSimulator, pki: CloudPki, extra: Record<string, unknown> = {}) {
  return {
    upstream: { kind: 'stow-rs', url: cloud.url, caFile: pki.caFile, token: 'site-token' },
    upload: { workers: 2, batchMaxInstances: 20, retryBaseSeconds: 1, retryMaxSeconds: 2, leaseSeconds: 10, ...extra },
    studies: { seriesQuietSeconds: 1, studyQuietSeconds: 2, forceCompleteMinutes: 60 },
    // Compressed files go over the loopback link, whatever its rate (compress-when-it-pays.test.ts weighs it).
    compression: { lossless: 'always' },
  };
}

async function deliveredCount(databaseUrl: string): Promise<number> {
  return (await query(databaseUrl, "SELECT count(*)::int AS n FROM uploads WHERE state = 'done'"))[0].n;
}

/**
 * The cloud stored, byte for byte, what the gateway sent for each instance: its verified compressed file (the
 * default rules compress these uncompressed CTs lossless), which holds the spooled image, or else the spool file.
 */
async function assertCloudHasSentFiles(gateway: GatewayProcess, databaseUrl: string, cloud: StowRsSimulator): Promise<void> {
  for (const row of await query(databaseUrl, 'SELECT sop_instance_uid, spool_path FROM instances')) {
    const sent = await sentFile(gateway.dataDir, databaseUrl, row.sop_instance_uid);
    assert.ok(fs.readFileSync(sent.file).equals(fs.readFileSync(cloud.storedPath(row.sop_instance_uid))), `${row.sop_instance_uid} stored in the cloud as sent`);
    if (sent.compressed) await assertSameImage(path.join(gateway.dataDir, 'spool', ...String(row.spool_path).split('/')), sent.file);
  }
}

describe('upload through STOW-RS', () => {
  test('a pushed series reaches the cloud byte for byte and the study is done with a receipt', async () => {
    const pki = makeCloudPki(tempDir('e2e-pki'));
    const cloud = await startStowRsSimulator({ pki, storeDir: tempDir('e2e-cloud'), token: 'site-token' });
    const databaseUrl = await createTestDatabase();
    const gateway = await startGateway({ dataDir: tempDir('e2e'), database: databaseUrl, aeTitle: 'E2EGW', config: stowGatewayConfig(cloud, pki) });
    try {
      const series = writeSyntheticCtSeries(tempDir('e2e-ct'), { slices: 30, rows: 128, columns: 128 });
      assert.equal((await runDcmtk('storescu', ['-aec', 'E2EGW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
      await waitFor('every instance delivered', async () => (await deliveredCount(databaseUrl)) === 30);
      await assertCloudHasSentFiles(gateway, databaseUrl, cloud);
      assert.ok(cloud.requests.every((r) => r.authorization === 'Bearer site-token'));
      await waitFor('the study done', async () => (await query(databaseUrl, 'SELECT done_at FROM studies'))[0].done_at !== null, 30000);
      const status = execFileSync(process.execPath, [GATEWAY_BIN, 'status', '--config', gateway.configFile], { encoding: 'utf8' });
      assert.match(status, new RegExp(`Receipt\\s+${series.studyInstanceUid.replace(/\./g, '\\.')}: 30 instances`));
      assert.match(status, /0 queued, 0 sending/);
      assert.match(status, /Compression\s+30 compressed, \d+\.\d\d:1, 0 sent as received, 0 waiting for a decision/);
    } finally {
      await gateway.stop();
      await cloud.stop();
    }
  });

  test('the cloud down for a while, then back: everything delivered, nothing lost', async () => {
    const pki = makeCloudPki(tempDir('outage-pki'));
    const cloud = await startStowRsSimulator({ pki, storeDir: tempDir('outage-cloud'), token: 'site-token', fault: { kind: 'status', status: 503 } });
    const databaseUrl = await createTestDatabase();
    const gateway = await startGateway({ dataDir: tempDir('outage'), database: databaseUrl, aeTitle: 'OUTAGEGW', config: stowGatewayConfig(cloud, pki) });
    try {
      const series = writeSyntheticCtSeries(tempDir('outage-ct'), { slices: 10, rows: 64, columns: 64 });
      assert.equal((await runDcmtk('storescu', ['-aec', 'OUTAGEGW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
      await waitFor('failed attempts recorded', async () => (await query(databaseUrl, "SELECT count(*)::int AS n FROM uploads WHERE last_error LIKE '%503%'"))[0].n > 0);
      assert.equal(await deliveredCount(databaseUrl), 0);
      cloud.settings.fault = undefined;
      await waitFor('every instance delivered after the outage', async () => (await deliveredCount(databaseUrl)) === 10);
      await assertCloudHasSentFiles(gateway, databaseUrl, cloud);
    } finally {
      await gateway.stop();
      await cloud.stop();
    }
  });

  test('a permanent refusal is shown as failed, and `gateway retry` delivers it once the cloud accepts it', async () => {
    const pki = makeCloudPki(tempDir('refuse-pki'));
    const cloud = await startStowRsSimulator({ pki, storeDir: tempDir('refuse-cloud'), token: 'site-token' });
    const databaseUrl = await createTestDatabase();
    const gateway = await startGateway({ dataDir: tempDir('refuse'), database: databaseUrl, aeTitle: 'REFUSEGW', config: stowGatewayConfig(cloud, pki) });
    try {
      const series = writeSyntheticCtSeries(tempDir('refuse-ct'), { slices: 3, rows: 64, columns: 64 });
      cloud.settings.failInstances = new Map([[series.sopInstanceUids[1], 0xa900]]);
      assert.equal((await runDcmtk('storescu', ['-aec', 'REFUSEGW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
      await waitFor('two delivered and one failed', async () => {
        const rows = await query(databaseUrl, 'SELECT state, count(*)::int AS n FROM uploads GROUP BY state ORDER BY state');
        return (
          JSON.stringify(rows) ===
          JSON.stringify([
            { state: 'done', n: 2 },
            { state: 'failed', n: 1 },
          ])
        );
      });
      const status = execFileSync(process.execPath, [GATEWAY_BIN, 'status', '--config', gateway.configFile], { encoding: 'utf8' });
      assert.match(status, /FAILED UPLOADS\s+1 instances/);
      cloud.settings.failInstances = undefined;
      const retried = execFileSync(process.execPath, [GATEWAY_BIN, 'retry', '--all', '--config', gateway.configFile], { encoding: 'utf8' });
      assert.match(retried, /1 failed instance queued again/);
      await waitFor('the retried instance delivered', async () => (await deliveredCount(databaseUrl)) === 3);
    } finally {
      await gateway.stop();
      await cloud.stop();
    }
  });

  test('kill -9 of the agent in the middle of an upload: everything delivered after the restart', async () => {
    const pki = makeCloudPki(tempDir('crash-up-pki'));
    const cloud = await startStowRsSimulator({ pki, storeDir: tempDir('crash-up-cloud'), token: 'site-token', throttleMbps: 40 });
    const databaseUrl = await createTestDatabase();
    let gateway = await startGateway({ dataDir: tempDir('crash-up'), database: databaseUrl, aeTitle: 'CRASHUPGW', config: stowGatewayConfig(cloud, pki, { batchMaxInstances: 5 }) });
    try {
      const series = writeSyntheticCtSeries(tempDir('crash-up-ct'), { slices: 40, seed: 5 });
      assert.equal((await runDcmtk('storescu', ['-aec', 'CRASHUPGW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
      await waitFor('some instances delivered', async () => (await deliveredCount(databaseUrl)) > 0);
      await gateway.kill();
      assert.ok((await deliveredCount(databaseUrl)) < 40, 'the crash came in the middle of the upload');
      gateway = await launchGateway(gateway.configFile, gateway.port, gateway.aeTitle, gateway.dataDir);
      await waitFor('every instance delivered after the restart', async () => (await deliveredCount(databaseUrl)) === 40, 90000);
      await assertCloudHasSentFiles(gateway, databaseUrl, cloud);
    } finally {
      await gateway.stop();
      await cloud.stop();
    }
  });
});

test('a STOW-RS cloud that refuses JPEG-LS (FailureReason 0xC122) gets the instances as received', async () => {
  const pki = makeCloudPki(tempDir('stow-nojls-pki'));
  const cloud = await startStowRsSimulator({ pki, storeDir: tempDir('stow-nojls-cloud'), token: 'site-token', acceptedTransferSyntaxes: ['1.2.840.10008.1.2.1'] });
  const databaseUrl = await createTestDatabase();
  const gateway = await startGateway({ dataDir: tempDir('stow-nojls'), database: databaseUrl, aeTitle: 'NOJLSSTOW', config: stowGatewayConfig(cloud, pki) });
  try {
    const series = writeSyntheticCtSeries(tempDir('stow-nojls-ct'), { slices: 4, rows: 64, columns: 64, seed: 12 });
    assert.equal((await runDcmtk('storescu', ['-aec', 'NOJLSSTOW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
    await waitFor('every instance delivered', async () => (await deliveredCount(databaseUrl)) === 4);
    assert.equal((await query(databaseUrl, "SELECT count(*)::int AS n FROM compressions WHERE state = 'compressed'"))[0].n, 4, 'the gateway had compressed them');
    for (const row of await query(databaseUrl, 'SELECT sop_instance_uid, spool_path FROM instances')) {
      const spooled = fs.readFileSync(path.join(gateway.dataDir, 'spool', ...String(row.spool_path).split('/')));
      assert.ok(fs.readFileSync(cloud.storedPath(row.sop_instance_uid)).equals(spooled), `${row.sop_instance_uid}: the spool file as received`);
    }
  } finally {
    await gateway.stop();
    await cloud.stop();
  }
});

describe('upload through DICOM-TLS', () => {
  test('storescu -> gateway -> Orthanc over mutual TLS: every instance arrives as sent (JPEG-LS) and the study is done', async () => {
    const pki = makeCloudPki(tempDir('orthanc-pki'));
    const orthanc = await startOrthanc({ dir: tempDir('orthanc'), pki });
    const databaseUrl = await createTestDatabase();
    const gateway = await startGateway({
      dataDir: tempDir('tls-e2e'),
      database: databaseUrl,
      aeTitle: 'TLSUPGW',
      config: {
        upstream: {
          kind: 'dicom-tls',
          host: 'localhost',
          port: orthanc.dicomPort,
          calledAeTitle: orthanc.aeTitle,
          caFile: pki.caFile,
          certFile: pki.clientCertFile,
          keyFile: pki.clientKeyFile,
          storageCommitment: false,
        },
        upload: { workers: 2, batchMaxInstances: 10, retryBaseSeconds: 1, retryMaxSeconds: 2 },
        studies: { seriesQuietSeconds: 1, studyQuietSeconds: 2, forceCompleteMinutes: 60 },
        compression: { lossless: 'always' },
      },
    });
    try {
      const series = writeSyntheticCtSeries(tempDir('tls-e2e-ct'), { slices: 25, rows: 128, columns: 128, seed: 9 });
      assert.equal((await runDcmtk('storescu', ['-aec', 'TLSUPGW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
      await waitFor('every instance delivered', async () => (await deliveredCount(databaseUrl)) === 25);
      const stored = await orthanc.instancesBySopInstanceUid();
      for (const row of await query(databaseUrl, 'SELECT sop_instance_uid FROM instances')) {
        const sent = await sentFile(gateway.dataDir, databaseUrl, row.sop_instance_uid);
        assert.ok(sent.compressed, 'the default rules compress uncompressed CT');
        const kept = datasetBytes(sent.file);
        const id = stored.get(row.sop_instance_uid);
        assert.ok(id, `${row.sop_instance_uid} is in Orthanc`);
        const theirs = await orthanc.instanceFile(id);
        const tmp = path.join(tempDir('orthanc-file'), 'x.dcm');
        fs.writeFileSync(tmp, theirs);
        assert.ok(datasetBytes(tmp).equals(kept), `${row.sop_instance_uid}: Orthanc stored the sent (compressed) dataset bytes`);
      }
      await waitFor('the study done', async () => (await query(databaseUrl, 'SELECT done_at FROM studies'))[0].done_at !== null, 30000);
    } finally {
      await gateway.stop();
      await orthanc.stop();
    }
  });

  test('a cloud that refuses JPEG-LS gets the instances as received, byte for byte, and the study is done', async () => {
    const pki = makeCloudPki(tempDir('refuse-jls-pki'));
    const cloud = await startDicomTlsScp({ certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, aeTitle: 'NOJLS', acceptedTransferSyntaxes: ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2'] });
    const databaseUrl = await createTestDatabase();
    const gateway = await startGateway({
      dataDir: tempDir('refuse-jls'),
      database: databaseUrl,
      aeTitle: 'NOJLSGW',
      config: {
        upstream: { kind: 'dicom-tls', host: 'localhost', port: cloud.port, calledAeTitle: 'NOJLS', caFile: pki.caFile, storageCommitment: false },
        upload: { workers: 1, retryBaseSeconds: 1, retryMaxSeconds: 2 },
        studies: { seriesQuietSeconds: 1, studyQuietSeconds: 2, forceCompleteMinutes: 60 },
        compression: { lossless: 'always' },
      },
    });
    try {
      const series = writeSyntheticCtSeries(tempDir('refuse-jls-ct'), { slices: 6, rows: 64, columns: 64, seed: 4 });
      assert.equal((await runDcmtk('storescu', ['-aec', 'NOJLSGW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
      await waitFor('every instance delivered', async () => (await deliveredCount(databaseUrl)) === 6);
      const compressed = await query(databaseUrl, "SELECT count(*)::int AS n FROM compressions WHERE state = 'compressed'");
      assert.equal(compressed[0].n, 6, 'the gateway had compressed them');
      for (const row of await query(databaseUrl, 'SELECT sop_instance_uid, spool_path FROM instances')) {
        const stored = cloud.stored.find((s) => s.sopInstanceUid === row.sop_instance_uid);
        assert.ok(stored, `${row.sop_instance_uid} reached the cloud`);
        assert.equal(stored.transferSyntaxUid, '1.2.840.10008.1.2.1');
        assert.ok(stored.dataset.equals(datasetBytes(path.join(gateway.dataDir, 'spool', ...String(row.spool_path).split('/')))), 'as received, byte for byte');
      }
      await waitFor('the study done', async () => (await query(databaseUrl, 'SELECT done_at FROM studies'))[0].done_at !== null, 30000);
    } finally {
      await gateway.stop();
      await cloud.close();
    }
  });
});
