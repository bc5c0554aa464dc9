// Compress when it pays: the uploader measures the link, the compressor its own rate and ratio; a lossless rule
// compresses only when that brings instances to the cloud clearly sooner. A slow link (upload.maxMbps 2) gets
// compressed instances, a fast loopback link gets them as received, a lossy rule applies on any link, and
// `gateway status` says what is decided now and why.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { BusyRate } from '../agent/busy-rate';
import { decideLossless } from '../agent/compress/when-it-pays';
import { DEFAULT_RULES, matchRuleBeforePixels, type CompressionRule, type InstanceFacts } from '../agent/compress/rules';
import type { ApiStatus } from '../agent/api/types';
import { freePort } from '../agent/db/embedded-postgres';
import { dicomTlsCloudUpstream, makeCloudPki } from './cloud-simulator/pki';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';
import { createTestDatabase, query } from './helpers/database';
import { runDcmtk, waitForPort } from './helpers/dcmtk';
import { GATEWAY_BIN, startGateway, type GatewayProcess } from './helpers/gateway-process';
import { deliveredCount, withStowCloud } from './helpers/stow-cloud';
import { tempDir } from './helpers/temp-dir';
import { waitFor } from './helpers/wait';

describe('the weighing', () => {
  test('a slow link compresses, a fast one sends as received, an unmeasured one compresses; the reason carries the figures', () => {
    const slow = decideLossless({ linkBytesPerSecond: 6.25e6, compressBytesPerSecond: 99e6, ratio: 0.29 });
    assert.equal(slow.compress, true);
    assert.equal(slow.reason, 'on: link 50 Mbit/s carries 6.3 MB/s as received; 3.4:1 at 99 MB/s delivers 22 MB/s, 3.4x sooner');
    const fast = decideLossless({ linkBytesPerSecond: 118e6, compressBytesPerSecond: 99e6, ratio: 0.29 });
    assert.equal(fast.compress, false);
    assert.equal(fast.reason, 'skipped: link 944 Mbit/s carries 118 MB/s as received; compressing (3.4:1 at 99 MB/s) would deliver 99 MB/s');
    // Not clearly sooner (1.6x): the CPU goes to receiving instead.
    assert.equal(decideLossless({ linkBytesPerSecond: 62e6, compressBytesPerSecond: 99e6, ratio: 0.29 }).compress, false);
    // Compressing barely shrinks these: the link carries them as fast as received.
    assert.equal(decideLossless({ linkBytesPerSecond: 1e6, compressBytesPerSecond: 99e6, ratio: 0.8 }).compress, false);
    // Until the link and the compressor are measured, the rules apply as written.
    assert.deepEqual(decideLossless({}), { compress: true, linkMeasured: false, reason: 'on: the link and the compressor not measured yet (compressing as the rules say until then)' });
    assert.deepEqual(decideLossless({ linkBytesPerSecond: 118e6, ratio: 0.29 }), {
      compress: true,
      linkMeasured: true,
      reason: 'on: the compressor not measured yet (compressing as the rules say until then)',
    });
  });

  test('the busy rate adds overlapping transfers and leaves out idle time and unreachable sends', () => {
    let t = 0;
    const rate = new BusyRate(10_000, { bytes: 1000, ms: 500 }, () => t);
    assert.equal(rate.bytesPerSecond(), undefined);
    rate.begin();
    t = 100;
    rate.begin();
    t = 200;
    rate.end(100);
    assert.equal(rate.bytesPerSecond(), undefined, 'too little measured yet');
    t = 400;
    rate.end(900);
    assert.equal(rate.bytesPerSecond(), 2500, '1000 bytes in 400 ms of sending');
    t = 5000; // idle
    rate.begin();
    t = 5600;
    rate.end(undefined); // the cloud was unreachable
    assert.equal(rate.bytesPerSecond(), 2500);
    rate.begin();
    t = 6000;
    rate.end(3000);
    assert.equal(rate.bytesPerSecond(), 5000, '4000 bytes in 800 ms');
  });

  test('the deciding rule without the pixel attributes, or that a worker must read them', () => {
    const ct: InstanceFacts = {
      modality: 'CT',
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
      callingAeTitle: 'CT1',
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      receivedCompressed: false,
      sizeBytes: 524_288,
    };
    assert.equal(matchRuleBeforePixels(DEFAULT_RULES, ct), DEFAULT_RULES[1]);
    assert.equal(matchRuleBeforePixels(DEFAULT_RULES, { ...ct, receivedCompressed: true }), DEFAULT_RULES[0]);
    const rules: CompressionRule[] = [
      { name: 'MR keep', match: { modality: ['MR'] }, action: 'keep' },
      { name: 'colour lossy', match: { photometricInterpretation: ['RGB'] }, action: 'lossy', codec: 'jpeg-ls', maxError: 2 },
      { name: 'rest', match: {}, action: 'lossless', codec: 'jpeg-ls' },
    ];
    assert.equal(matchRuleBeforePixels(rules, { ...ct, modality: 'MR' }), rules[0]);
    assert.equal(matchRuleBeforePixels(rules, ct), 'needs pixels');
    assert.equal(matchRuleBeforePixels([rules[0]], ct), undefined);
  });
});

/** Sends a synthetic CT series and waits until the cloud has every instance the gateway holds; resolves to its decisions. */
async function sendSeries(gateway: GatewayProcess, databaseUrl: string, options: { slices: number; rows: number; seed: number; callingAe?: string }) {
  const series = writeSyntheticCtSeries(tempDir(`pays-ct-${options.seed}`), { slices: options.slices, rows: options.rows, columns: options.rows, seed: options.seed });
  const calling = options.callingAe ? ['-aet', options.callingAe] : [];
  assert.equal((await runDcmtk('storescu', [...calling, '-aec', gateway.aeTitle, '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
  const [{ n: total }] = await query(databaseUrl, 'SELECT count(*)::int AS n FROM instances');
  await waitFor('every instance delivered', async () => (await deliveredCount(databaseUrl)) === total, 60_000);
  return query(databaseUrl, 'SELECT state, rule, reason, lossy FROM compressions WHERE sop_instance_uid = ANY($1)', [series.sopInstanceUids]);
}

function gatewayStatus(configFile: string): string {
  const result = spawnSync(process.execPath, [GATEWAY_BIN, 'status', '--config', configFile], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

/** What measures the link while compression yields to receiving (on this 2-core PC, all of a series' arrival). */
const PROBE = /^sent as received to measure the link while compression yields to receiving \(lossless compression on: /;
const WEIGHED_ON = /^lossless compression on: link [\d.]+ Mbit\/s carries [\d.]+ MB\/s as received; [\d.]+:1 at [\d.]+ MB\/s delivers [\d.]+ MB\/s, [\d.]+x sooner$/;

describe('compress when it pays, end to end', () => {
  test('a slow link (upload.maxMbps 2): lossless compression is on, instances go compressed, the reason and gateway status say why', async () => {
    await withStowCloud('pays-slow', async (_cloud, config) => {
      const databaseUrl = await createTestDatabase();
      const gateway = await startGateway({ dataDir: tempDir('pays-slow'), database: databaseUrl, aeTitle: 'PAYSSLOW', config: config({ upload: { ...(config().upload as object), maxMbps: 2 } }) });
      try {
        // The first series measures the link (0.5 MB as received: two seconds of sending at 2 Mbit/s; compression yields
        // to its arrival); from then on the slow link has compression on, one worker even while a series arrives.
        const first = await sendSeries(gateway, databaseUrl, { slices: 4, rows: 256, seed: 61 });
        for (const row of first.filter((r) => r.state === 'kept')) assert.match(row.reason, PROBE);
        const rows = await sendSeries(gateway, databaseUrl, { slices: 16, rows: 256, seed: 62 });
        assert.ok(
          rows.every((r) => r.state === 'compressed' && /^lossless compression on: /.test(r.reason)),
          rows.map((r) => `${r.state}: ${r.reason}`).join('\n'),
        );
        // Once the compressor measured itself too, with the figures.
        assert.ok(
          rows.some((r) => WEIGHED_ON.test(r.reason)),
          rows.map((r) => r.reason).join('\n'),
        );
        assert.match(gatewayStatus(gateway.configFile), /\nLossless {8}on: link [\d.]+ Mbit\/s carries .* sooner\n/);
      } finally {
        await gateway.stop();
      }
    });
  });

  test('a fast loopback link: lossless compression is skipped and recorded why; a lossy rule still applies; a minute on, the compressor is measured again', { timeout: 240_000 }, async () => {
    // DCMTK's storescp +tls (an association per worker, --fork): a cloud that takes bytes as fast as this PC sends them;
    // lossless JPEG 2000 with one worker: a compressor clearly slower than that, on a quiet or a loaded machine.
    const pki = makeCloudPki(tempDir('pays-fast-pki'));
    const port = await freePort();
    const cloud = spawn('storescp', ['--fork', '+tls', pki.serverKeyFile, pki.serverCertFile, '+cf', pki.caFile, '-aet', 'CLOUDPACS', '-od', tempDir('pays-fast-cloud'), String(port)], {
      stdio: 'ignore',
    });
    const databaseUrl = await createTestDatabase();
    const rules = [
      { name: 'lossy from LOSSYSCU', match: { callingAeTitle: 'LOSSYSCU' }, action: 'lossy', codec: 'jpeg-ls', maxError: 2 },
      { name: 'lossless', match: {}, action: 'lossless', codec: 'jpeg2000' },
    ];
    let gateway: GatewayProcess | undefined;
    try {
      await waitForPort(port);
      gateway = await startGateway({
        dataDir: tempDir('pays-fast'),
        database: databaseUrl,
        aeTitle: 'PAYSFAST',
        config: {
          upstream: dicomTlsCloudUpstream(pki, port),
          upload: { workers: 2, batchMaxInstances: 20, retryBaseSeconds: 1, retryMaxSeconds: 2, leaseSeconds: 10 },
          compression: { workers: 1, lossyOptIn: true, rules, lossless: 'always' },
        },
      });
      // The first series, compressed ("always"), measures the compressor and the link (over the link's 2 MiB minimum);
      // then the weighing is switched on (the compression settings are reloaded while running).
      await sendSeries(gateway, databaseUrl, { slices: 16, rows: 512, seed: 63 });
      const settings = JSON.parse(fs.readFileSync(gateway.configFile, 'utf8'));
      fs.writeFileSync(gateway.configFile, JSON.stringify({ ...settings, compression: { ...settings.compression, lossless: 'when-it-pays' } }));
      await waitFor('the weighing switched on', async () => gateway!.logLines().some((line) => line.message === 'compression rules reloaded' && line.lossless === 'when-it-pays'));
      const rows = await sendSeries(gateway, databaseUrl, { slices: 6, rows: 512, seed: 64 });
      assert.deepEqual(
        rows.map((r) => [r.state, r.rule]),
        rows.map(() => ['kept', 'lossless']),
      );
      for (const row of rows)
        assert.match(row.reason, /^lossless compression skipped: link [\d.]+ Mbit\/s carries [\d.]+ MB\/s as received; compressing \([\d.]+:1 at [\d.]+ MB\/s.*\) would deliver [\d.]+ MB\/s$/);
      const lossy = await sendSeries(gateway, databaseUrl, { slices: 4, rows: 512, seed: 65, callingAe: 'LOSSYSCU' });
      assert.deepEqual(
        lossy.map((r) => [r.state, r.rule, r.lossy]),
        lossy.map(() => ['compressed', 'lossy from LOSSYSCU', true]),
      );
      const status = (await (await fetch(`http://127.0.0.1:${gateway.apiPort}/api/status`)).json()) as ApiStatus;
      assert.match(status.compression?.lossless ?? '', /^skipped: link /);
      assert.match(gatewayStatus(gateway.configFile), /\nLossless {8}skipped: link [\d.]+ Mbit\/s carries .* would deliver [\d.]+ MB\/s\n/);
      // A minute without compressing: one instance is compressed to measure the compressor again (a figure taken
      // while the PC was busy must not keep compression off for good); the rest still go as received.
      await new Promise((resolve) => setTimeout(resolve, 61_000));
      const later = await sendSeries(gateway, databaseUrl, { slices: 4, rows: 512, seed: 66 });
      const remeasured = later.filter((r) => r.state === 'compressed');
      assert.equal(remeasured.length, 1, later.map((r) => `${r.state}: ${r.reason}`).join('\n'));
      assert.match(remeasured[0].reason, /^lossless compression on for one instance, to measure the compressor again \(\d+ s since; otherwise skipped: link /);
      assert.deepEqual(
        later.filter((r) => r.state !== 'compressed').map((r) => r.state),
        ['kept', 'kept', 'kept'],
      );
    } finally {
      await gateway?.stop();
      cloud.kill();
    }
  });
});
