// The cloud goes away (connection refused, then an intercepting proxy with a certificate from an unknown CA) and
// comes back: the agent keeps one probe going instead of every instance retrying on its own backoff, fails nothing
// for the outage, shows it, and delivers everything within one probe interval of the cloud's return.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiStatus } from '../agent/api/types';
import { freePort } from '../agent/db/embedded-postgres';
import { dicomTlsCloudUpstream, makeCloudPki } from './cloud-simulator/pki';
import { startDicomTlsScp, type DicomTlsScp } from './cloud-simulator/dicom-tls-scp';
import { createTestDatabase, query } from './helpers/database';
import { runDcmtk } from './helpers/dcmtk';
import { startGateway } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';
import { waitFor } from './helpers/wait';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';

const PROBE_SECONDS = 15;

test('a cloud outage (refused, then a rogue CA) is probed, not retried per instance; delivery resumes within 20 s of its return', async (t) => {
  const pki = makeCloudPki(tempDir('outage-pki'));
  const databaseUrl = await createTestDatabase();
  const cloudPort = await freePort();
  const gateway = await startGateway({
    dataDir: tempDir('outage'),
    database: databaseUrl,
    aeTitle: 'OUTAGEGW',
    config: {
      upstream: dicomTlsCloudUpstream(pki, cloudPort),
      // The per-instance backoff is long on purpose: the return must not wait for it.
      upload: { workers: 2, batchMaxInstances: 10, retryBaseSeconds: 60, retryMaxSeconds: 900 },
    },
  });
  let cloud: DicomTlsScp | undefined;
  let rogue: DicomTlsScp | undefined;
  const status = async () => (await (await fetch(`http://127.0.0.1:${gateway.apiPort}/api/status`)).json()) as ApiStatus;
  try {
    const series = writeSyntheticCtSeries(tempDir('outage-ct'), { slices: 30, rows: 64, columns: 64, seed: 18 });
    assert.equal((await runDcmtk('storescu', ['-aec', 'OUTAGEGW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);

    // 1. Nothing listens: connection refused.
    await waitFor('the outage recorded', async () => (await query(databaseUrl, 'SELECT 1 FROM upstream_outages')).length === 1, 30000);
    const down = await status();
    assert.equal(down.upstream.reachable, false);
    assert.ok(down.upstream.unreachableSince && down.upstream.nextCheckAt, 'since when, and when it is checked next');
    assert.ok(down.reasons.some((r) => r.code === 'upstream-unreachable'));
    await new Promise((resolve) => setTimeout(resolve, 10_000));

    // 2. An intercepting proxy answers with a certificate from an unknown CA: still unreachable, rightly refused.
    rogue = await startDicomTlsScp({ certFile: pki.rogueServerCertFile, keyFile: pki.rogueServerKeyFile, aeTitle: 'CLOUDPACS', port: cloudPort });
    const roguePeriodStart = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    assert.equal(rogue.associations, 0, 'the gateway refused the certificate before any association');
    await rogue.close();
    rogue = undefined;
    const waitedSeconds = (Date.now() - roguePeriodStart) / 1000;
    const outage = (await query<{ probes: number; last_error: string }>(databaseUrl, 'SELECT probes, last_error FROM upstream_outages'))[0];
    t.diagnostic(`probes so far: ${outage.probes}; last error: ${outage.last_error}`);
    assert.match(outage.last_error, /certificate|CA|verify/i, 'the probe saw the rogue certificate');
    assert.ok(outage.probes <= Math.ceil((10 + waitedSeconds) / PROBE_SECONDS) + 1, `one probe per ${PROBE_SECONDS} s, not a retry per instance (${outage.probes} probes)`);

    const attempts = await query<{ max: number; failed: number }>(databaseUrl, "SELECT max(attempts)::int AS max, count(*) FILTER (WHERE state = 'failed')::int AS failed FROM uploads");
    assert.deepEqual(attempts[0], { max: 0, failed: 0 }, 'no instance counted an attempt or failed for the outage');

    // 3. The cloud is back.
    const backAt = Date.now();
    cloud = await startDicomTlsScp({ certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caFile, requireClientCertificate: true, aeTitle: 'CLOUDPACS', port: cloudPort });
    await waitFor('every instance delivered', async () => cloud!.stored.length === 30, 40000, 100);
    const seconds = (Date.now() - backAt) / 1000;
    t.diagnostic(`all 30 instances delivered ${seconds.toFixed(1)} s after the cloud's return`);
    assert.ok(seconds <= 20, `delivered within 20 s of the cloud's return (took ${seconds.toFixed(1)} s)`);
    await waitFor('the outage over', async () => (await status()).upstream.reachable === true, 5000);
    assert.ok(gateway.logLines().some((l) => l.message === 'cloud reachable again: uploads resume'));
    // In arrival order: a worker claims at most 5 (the second one 1 until it has delivered once) and claims again
    // only after storing those, so the first 5 stored are among the first 11 kept.
    const positions = cloud.stored.slice(0, 5).map((s) => series.sopInstanceUids.indexOf(s.sopInstanceUid));
    assert.ok(
      positions.every((p) => p >= 0 && p < 11),
      `the instances kept first went first (kept positions of the first 5 stored: ${positions.join(', ')})`,
    );
  } finally {
    await gateway.stop();
    await rogue?.close();
    await cloud?.close();
  }
});
