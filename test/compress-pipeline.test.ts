// storescu -> gateway (compression in worker threads) -> cloud: the cloud gets the verified compressed files,
// rules are reloaded while running, corrupt pixel data goes as received, a crash mid-compression loses nothing.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { StowRsSimulator } from './cloud-simulator/stow-rs-server';
import { writeCorruptPixels, writeUltrasoundCine } from './fixtures/compress-cases';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';
import { assertSameImage, part10Elements, sentFile } from './helpers/compression';
import { createTestDatabase, query } from './helpers/database';
import { datasetBytes, runDcmtk } from './helpers/dcmtk';
import { launchGateway, startGateway, type GatewayProcess } from './helpers/gateway-process';
import { deliveredCount, withStowCloud } from './helpers/stow-cloud';
import { tempDir } from './helpers/temp-dir';
import { waitFor } from './helpers/wait';

// Every lossless rule compresses, whatever the loopback link's rate (compress-when-it-pays.test.ts weighs it).
const withCloud: typeof withStowCloud = (label, run) => withStowCloud(label, run, { lossless: 'always' });

/** The cloud holds, for every instance, exactly what the gateway decided to send; compressed ones are the same image. */
async function assertCloudHasSentFiles(gateway: GatewayProcess, databaseUrl: string, cloud: StowRsSimulator): Promise<{ compressed: number; kept: number }> {
  const counts = { compressed: 0, kept: 0 };
  for (const row of await query(databaseUrl, 'SELECT sop_instance_uid, spool_path FROM instances')) {
    const sent = await sentFile(gateway.dataDir, databaseUrl, row.sop_instance_uid);
    assert.ok(fs.readFileSync(sent.file).equals(fs.readFileSync(cloud.storedPath(row.sop_instance_uid))), `${row.sop_instance_uid}: the cloud has the file the gateway decided to send`);
    if (sent.compressed) await assertSameImage(path.join(gateway.dataDir, 'spool', ...String(row.spool_path).split('/')), sent.file);
    counts[sent.compressed ? 'compressed' : 'kept']++;
  }
  return counts;
}

describe('compression between spool and upload', () => {
  test('default rules: a CT series and an ultrasound cine reach the cloud as verified JPEG-LS; the spool keeps the originals', async () => {
    await withCloud('compress-e2e', async (cloud, config) => {
      const databaseUrl = await createTestDatabase();
      const gateway = await startGateway({ dataDir: tempDir('compress-e2e'), database: databaseUrl, aeTitle: 'COMPGW', config: config() });
      try {
        const series = writeSyntheticCtSeries(tempDir('compress-e2e-ct'), { slices: 12, rows: 256, columns: 256 });
        const cine = writeUltrasoundCine(path.join(tempDir('compress-e2e-us'), 'us.dcm'), { frames: 8, rows: 240, columns: 320 });
        const files = [...series.files, cine];
        assert.equal((await runDcmtk('storescu', ['-aec', 'COMPGW', '127.0.0.1', String(gateway.port), ...files])).code, 0);
        // Already compressed by the sender (JPEG lossless SV1, RLE): kept as received, never recompressed.
        const precompressed = writeSyntheticCtSeries(tempDir('compress-e2e-pre'), { slices: 2, rows: 128, columns: 128, seed: 3 });
        const jpeg = `${precompressed.files[0]}.jpeg.dcm`;
        const rle = `${precompressed.files[1]}.rle.dcm`;
        assert.equal((await runDcmtk('dcmcjpeg', [precompressed.files[0], jpeg])).code, 0);
        assert.equal((await runDcmtk('dcmcrle', [precompressed.files[1], rle])).code, 0);
        assert.equal((await runDcmtk('storescu', ['-aec', 'COMPGW', '127.0.0.1', String(gateway.port), '-xs', jpeg])).code, 0);
        assert.equal((await runDcmtk('storescu', ['-aec', 'COMPGW', '127.0.0.1', String(gateway.port), '-xr', rle])).code, 0);
        await waitFor('every instance delivered', async () => (await deliveredCount(databaseUrl)) === files.length + 2);
        const counts = await assertCloudHasSentFiles(gateway, databaseUrl, cloud);
        assert.deepEqual(counts, { compressed: files.length, kept: 2 });
        const kept = await query(databaseUrl, "SELECT rule FROM compressions WHERE state = 'kept'");
        assert.deepEqual(
          kept.map((r) => r.rule),
          ['already compressed: keep as received', 'already compressed: keep as received'],
        );
        // What the cloud got from them still decodes (DCMTK) to the pixels the modality had.
        for (const [tool, sent, original] of [
          ['dcmdjpeg', jpeg, precompressed.files[0]],
          ['dcmdrle', rle, precompressed.files[1]],
        ] as const) {
          const uid = precompressed.sopInstanceUids[original === precompressed.files[0] ? 0 : 1];
          const decoded = `${sent}.decoded.dcm`;
          assert.equal((await runDcmtk(tool, [cloud.storedPath(uid), decoded])).code, 0);
          const pixels = (file: string) => {
            const p = part10Elements(file);
            const e = p.elements.get(0x7fe00010)!;
            return p.buf.subarray(e.valueStart, e.end);
          };
          assert.ok(pixels(decoded).equals(pixels(original)), `${tool}: the cloud's copy decodes to the original pixels`);
        }
        const rows = await query(databaseUrl, "SELECT transfer_syntax_uid, rule FROM compressions WHERE state = 'compressed'");
        assert.ok(rows.every((r) => r.transfer_syntax_uid === '1.2.840.10008.1.2.4.80' && r.rule === 'uncompressed: lossless JPEG-LS'));
        // The spooled originals are untouched: their dataset hashes are still those of what storescu sent.
        for (const row of await query(databaseUrl, 'SELECT spool_path, dataset_sha256 FROM instances')) {
          const spooled = datasetBytes(path.join(gateway.dataDir, 'spool', ...String(row.spool_path).split('/')));
          assert.ok(crypto.createHash('sha256').update(spooled).digest().equals(row.dataset_sha256));
        }
        assert.equal(fs.readdirSync(path.join(gateway.dataDir, 'compressed', '.incoming')).length, 0, 'no temp files left');
      } finally {
        await gateway.stop();
      }
    });
  });

  test('rules reload while running; corrupt pixel data and kept instances go as received', async () => {
    await withCloud('compress-reload', async (cloud, config) => {
      const databaseUrl = await createTestDatabase();
      const keepAll = { compression: { rules: [{ name: 'keep everything', action: 'keep' }] } };
      const gateway = await startGateway({ dataDir: tempDir('compress-reload'), database: databaseUrl, aeTitle: 'RELOADGW', config: config(keepAll) });
      try {
        const first = writeSyntheticCtSeries(tempDir('reload-ct1'), { slices: 2, rows: 64, columns: 64, seed: 1 });
        assert.equal((await runDcmtk('storescu', ['-aec', 'RELOADGW', '127.0.0.1', String(gateway.port), ...first.files])).code, 0);
        await waitFor('first series delivered', async () => (await deliveredCount(databaseUrl)) === 2);
        assert.deepEqual(
          (await query(databaseUrl, 'SELECT DISTINCT state, rule FROM compressions')).map((r) => `${r.state}/${r.rule}`),
          ['kept/keep everything'],
        );

        // Back to the default rules, by editing the file only (lossless ones compressing whatever the link's rate).
        const file = JSON.parse(fs.readFileSync(gateway.configFile, 'utf8'));
        file.compression = { lossless: 'always' };
        fs.writeFileSync(gateway.configFile, JSON.stringify(file, null, 2));
        await gateway.waitForLog(/compression rules reloaded/, 15000);

        const second = writeSyntheticCtSeries(tempDir('reload-ct2'), { slices: 2, rows: 64, columns: 64, seed: 2 });
        const corrupt = writeCorruptPixels(path.join(tempDir('reload-corrupt'), 'corrupt.dcm'));
        assert.equal((await runDcmtk('storescu', ['-aec', 'RELOADGW', '127.0.0.1', String(gateway.port), ...second.files, corrupt])).code, 0);
        await waitFor('everything delivered', async () => (await deliveredCount(databaseUrl)) === 5);
        const counts = await assertCloudHasSentFiles(gateway, databaseUrl, cloud);
        assert.deepEqual(counts, { compressed: 2, kept: 3 });
        const [corruptRow] = await query(databaseUrl, "SELECT state, reason FROM compressions WHERE reason LIKE '%corrupt%'");
        assert.equal(corruptRow.state, 'kept');
        await gateway.waitForLog(/instance sent as received: not compressed/, 5000);
      } finally {
        await gateway.stop();
      }
    });
  });

  test('a correction is compressed again; older versions of its compressed file, recorded or left by a crash, are removed', async () => {
    await withCloud('compress-correction', async (_cloud, config) => {
      const databaseUrl = await createTestDatabase();
      const gateway = await startGateway({ dataDir: tempDir('compress-correction'), database: databaseUrl, aeTitle: 'CORRGW', config: config() });
      try {
        const first = writeSyntheticCtSeries(tempDir('correction-ct1'), { slices: 2, rows: 64, columns: 64, seed: 5, patientName: 'First^Version' });
        assert.equal((await runDcmtk('storescu', ['-aec', 'CORRGW', '127.0.0.1', String(gateway.port), ...first.files])).code, 0);
        await waitFor('the first version delivered', async () => (await deliveredCount(databaseUrl)) === 2);
        const compressedDir = path.join(gateway.dataDir, 'compressed');
        const before = await query(databaseUrl, 'SELECT sop_instance_uid, compressed_path FROM compressions ORDER BY sop_instance_uid');
        // What a crash between the rename and the record would leave: a file of a version never recorded.
        const [bucket] = String(before[0].compressed_path).split('/');
        const orphan = path.join(compressedDir, bucket, `${before[0].sop_instance_uid}.00000000deadbeef.dcm`);
        fs.writeFileSync(orphan, 'left by a crash');

        const second = writeSyntheticCtSeries(tempDir('correction-ct2'), { slices: 2, rows: 64, columns: 64, seed: 5, patientName: 'Second^Version' });
        assert.deepEqual(second.sopInstanceUids, first.sopInstanceUids, 'the same instances, resent with other bytes');
        assert.equal((await runDcmtk('storescu', ['-aec', 'CORRGW', '127.0.0.1', String(gateway.port), ...second.files])).code, 0);
        await waitFor('the corrections compressed and sent', async () => {
          const rows = await query(
            databaseUrl,
            `SELECT count(*)::int AS n FROM compressions c JOIN instances i USING (sop_instance_uid) JOIN uploads u USING (sop_instance_uid)
                                                  WHERE c.state = 'compressed' AND c.dataset_sha256 = i.dataset_sha256 AND u.state IN ('done', 'failed') AND i.corrections = 1`,
          );
          return rows[0].n === 2;
        });
        // The simulator keeps the first copy of an instance (as Orthanc does by default): the correction is shown as
        // failed with the reason, never silently done.
        for (const upload of await query(databaseUrl, 'SELECT state, last_error FROM uploads')) {
          assert.equal(upload.state, 'failed');
          assert.match(upload.last_error, /earlier version of this corrected instance/);
        }
        for (const row of await query(databaseUrl, 'SELECT sop_instance_uid, compressed_path FROM compressions')) {
          const [folder, name] = String(row.compressed_path).split('/');
          const versions = fs.readdirSync(path.join(compressedDir, folder)).filter((f) => f.startsWith(`${row.sop_instance_uid}.`));
          assert.deepEqual(versions, [name], `${row.sop_instance_uid}: only the current version's compressed file is left`);
        }
        assert.equal(fs.existsSync(orphan), false);
      } finally {
        await gateway.stop();
      }
    });
  });

  test('stopped while instances wait for compression: the agent stops at once and compresses them after the restart', async () => {
    await withCloud('compress-stop', async (cloud, config) => {
      const databaseUrl = await createTestDatabase();
      const dataDir = tempDir('compress-stop');
      let gateway = await startGateway({ dataDir, database: databaseUrl, aeTitle: 'STOPGW', config: config({ compression: { workers: 1 } }) });
      try {
        const series = writeSyntheticCtSeries(tempDir('stop-ct'), { slices: 40, rows: 512, columns: 512, seed: 4 });
        assert.equal((await runDcmtk('storescu', ['-aec', 'STOPGW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
        const stopped = Date.now();
        assert.equal(await gateway.stop(), 0);
        assert.ok(Date.now() - stopped < 10000, 'the stop did not wait for the backlog');
        gateway = await launchGateway(gateway.configFile, gateway.port, 'STOPGW', dataDir);
        await waitFor('every instance delivered after the restart', async () => (await deliveredCount(databaseUrl)) === 40, 120000);
        assert.equal((await assertCloudHasSentFiles(gateway, databaseUrl, cloud)).compressed, 40);
      } finally {
        await gateway.stop();
      }
    });
  });

  test('killed while compressing: after the restart every instance is decided and delivered, no half-written file is sent', async () => {
    await withCloud('compress-crash', async (cloud, config) => {
      const databaseUrl = await createTestDatabase();
      const dataDir = tempDir('compress-crash');
      let gateway = await startGateway({ dataDir, database: databaseUrl, aeTitle: 'CRASHGW', config: config({ compression: { workers: 1 } }) });
      try {
        const series = writeSyntheticCtSeries(tempDir('crash-ct'), { slices: 30, rows: 512, columns: 512 });
        assert.equal((await runDcmtk('storescu', ['-aec', 'CRASHGW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
        await gateway.kill();
        const pending = (await query(databaseUrl, "SELECT count(*)::int AS n FROM compressions WHERE state = 'pending'"))[0].n;
        gateway = await launchGateway(gateway.configFile, gateway.port, 'CRASHGW', dataDir);
        await waitFor('every instance delivered after the restart', async () => (await deliveredCount(databaseUrl)) === 30, 120000);
        const counts = await assertCloudHasSentFiles(gateway, databaseUrl, cloud);
        assert.equal(counts.compressed, 30, `all compressed (${pending} were pending at the crash)`);
      } finally {
        await gateway.stop();
      }
    });
  });
});
