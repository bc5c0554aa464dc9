// A cloud with room for fewer associations than upload.workers: DCMTK's storescp +tls without --fork serves one
// association at a time and leaves the next connections in its listen queue. The uploader uses fewer associations
// instead of failing instances; its capacity rule (park, probe one more later) is checked on its own.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { freePort } from '../agent/db/embedded-postgres';
import { AgentApiClient } from '../agent/api/client';
import { CloudCapacity } from '../agent/upload/cloud-capacity';
import { dicomTlsCloudUpstream, makeCloudPki } from './cloud-simulator/pki';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';
import { createTestDatabase, query } from './helpers/database';
import { runDcmtk, waitForPort } from './helpers/dcmtk';
import { GATEWAY_BIN, startGateway } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';
import { waitFor } from './helpers/wait';
import { startStowRsSimulator } from './cloud-simulator/stow-rs-server';

/** Instances the cloud confirmed. */
async function delivered(databaseUrl: string): Promise<number> {
  return (await query(databaseUrl, "SELECT count(*)::int AS n FROM uploads WHERE state = 'done'"))[0].n as number;
}

describe('upload to a cloud with room for one association', () => {
  test('every instance is delivered through fewer associations, none counted as a failed attempt', async () => {
    const pki = makeCloudPki(tempDir('capacity-pki'));
    const cloudDir = tempDir('capacity-cloud');
    const port = await freePort();
    const cloud = spawn('storescp', ['+tls', pki.serverKeyFile, pki.serverCertFile, '+cf', pki.caFile, '-aet', 'CLOUDPACS', '-od', cloudDir, String(port)], {
      env: { ...process.env, TCP_NODELAY: '1' },
      stdio: 'ignore',
    });
    const databaseUrl = await createTestDatabase();
    await waitForPort(port);
    const gateway = await startGateway({
      dataDir: tempDir('capacity-gw'),
      database: databaseUrl,
      aeTitle: 'CAPGW',
      config: {
        upstream: dicomTlsCloudUpstream(pki, port),
        // 2 Mbit/s: the 40 instances take about 3 s, so other workers try their connections while one delivers.
        upload: { workers: 3, batchMaxInstances: 6, retryBaseSeconds: 30, retryMaxSeconds: 60, leaseSeconds: 30, maxMbps: 2 },
        compression: { enabled: false },
      },
    });
    try {
      const series = writeSyntheticCtSeries(tempDir('capacity-ct'), { slices: 40, rows: 96, columns: 96 });
      // Uploads paused while the study arrives: a backlog waits, as after a modality's burst, which is when the
      // uploader opens more connections (with uploads keeping pace with receiving, one connection is all it needs).
      const api = new AgentApiClient({ baseUrl: `http://127.0.0.1:${gateway.apiPort}`, dataDir: gateway.dataDir });
      await api.pauseUploads();
      assert.equal((await runDcmtk('storescu', ['-aec', 'CAPGW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
      await api.resumeUploads();
      await waitFor('every instance delivered', async () => (await delivered(databaseUrl)) === 40, 60000);
      // A retry after a counted failure would wait retryBaseSeconds (30 s): delivery within the wait proves none.
      const attempts = await query(databaseUrl, 'SELECT attempts FROM uploads');
      assert.ok(
        attempts.every((row) => row.attempts === 1),
        'one counted attempt per instance',
      );
      assert.equal(fs.readdirSync(cloudDir).length, 40, 'the cloud stored every instance');
      const batches = gateway.logLines().filter((line) => line.message === 'upload batch');
      assert.ok(
        batches.every((line) => line.cloudUnreachable !== true),
        'no outage was reported',
      );
      // A worker beyond the first connects before it claims: none held instances while waiting for a handshake.
      assert.ok(
        batches.every((line) => line.cloudHasNoRoom !== true),
        'no batch waited on a connection the cloud had no room for',
      );
      // The extra workers give up on their handshake (2 s) possibly after the last delivery.
      await waitFor('the uploader lowered its parallel associations', async () => gateway.logLines().some((line) => /fewer parallel uploads/.test(String(line.message))), 15000);
      const status = execFileSync(process.execPath, [GATEWAY_BIN, 'status', '--config', gateway.configFile], { encoding: 'utf8' });
      assert.match(status, /reachable, 1 of 3 parallel connections \(no room for more: /);
    } finally {
      await gateway.stop();
      cloud.kill('SIGTERM');
    }
  });
});

describe('upload to a STOW-RS cloud that takes one request at a time', () => {
  test('429 with Retry-After lowers the parallel requests: every instance delivered, none counted as a failed attempt', async () => {
    const pki = makeCloudPki(tempDir('capacity-stow-pki'));
    // Throttled so that requests overlap: a second one arrives while the first is being read.
    const cloud = await startStowRsSimulator({ pki, storeDir: tempDir('capacity-stow-cloud'), maxConcurrentPosts: 1, throttleMbps: 4 });
    const databaseUrl = await createTestDatabase();
    const gateway = await startGateway({
      dataDir: tempDir('capacity-stow-gw'),
      database: databaseUrl,
      aeTitle: 'CAPSTOW',
      config: {
        upstream: { kind: 'stow-rs', url: cloud.url, caFile: pki.caFile },
        upload: { workers: 3, batchMaxInstances: 5, retryBaseSeconds: 30, retryMaxSeconds: 60, leaseSeconds: 30, outageProbeSeconds: 60 },
        compression: { enabled: false },
      },
    });
    try {
      const series = writeSyntheticCtSeries(tempDir('capacity-stow-ct'), { slices: 30, rows: 128, columns: 128 });
      assert.equal((await runDcmtk('storescu', ['-aec', 'CAPSTOW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
      // A counted failure would wait retryBaseSeconds (30 s), an outage outageProbeSeconds (60 s).
      await waitFor('every instance delivered', async () => (await delivered(databaseUrl)) === 30, 25000);
      assert.ok(
        (await query(databaseUrl, 'SELECT attempts FROM uploads')).every((row) => row.attempts === 1),
        'one counted attempt per instance',
      );
      assert.ok(
        cloud.requests.some((r) => r.status === 429),
        'the cloud did answer 429',
      );
      assert.ok(gateway.logLines().some((line) => /fewer parallel uploads/.test(String(line.message))));
    } finally {
      await gateway.stop();
      await cloud.stop();
    }
  });
});

describe('upload to a STOW-RS cloud that says it is busy just after a delivery', () => {
  test('429 with Retry-After: the batch waits what the cloud asked and goes again, no outage, no counted failure', async () => {
    const pki = makeCloudPki(tempDir('busy-stow-pki'));
    const cloud = await startStowRsSimulator({ pki, storeDir: tempDir('busy-stow-cloud') });
    const databaseUrl = await createTestDatabase();
    const gateway = await startGateway({
      dataDir: tempDir('busy-stow-gw'),
      database: databaseUrl,
      aeTitle: 'BUSYSTOW',
      config: {
        upstream: { kind: 'stow-rs', url: cloud.url, caFile: pki.caFile },
        upload: { workers: 1, retryBaseSeconds: 30, retryMaxSeconds: 60, outageProbeSeconds: 60 },
        compression: { enabled: false },
      },
    });
    const push = async (name: string, seed: number) => {
      const series = writeSyntheticCtSeries(tempDir(name), { slices: 2, rows: 32, columns: 32, seed });
      assert.equal((await runDcmtk('storescu', ['-aec', 'BUSYSTOW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
    };
    try {
      await push('busy-first', 1);
      await waitFor('the first study delivered', async () => (await delivered(databaseUrl)) === 2);
      // A rate limit that still counts the request it has just answered: the only connection gets 429.
      cloud.settings.fault = { kind: 'status', status: 429, headers: { 'Retry-After': '2' } };
      await push('busy-second', 2);
      await waitFor('the cloud answered 429', async () => cloud.requests.some((r) => r.status === 429));
      cloud.settings.fault = undefined;
      // An outage would wait outageProbeSeconds (60 s), a counted failure retryBaseSeconds (30 s).
      await waitFor('the second study delivered', async () => (await delivered(databaseUrl)) === 4, 15000);
      const posts = cloud.requests.filter((r) => r.method === 'POST');
      const busy = posts.findIndex((r) => r.status === 429);
      assert.ok(posts[busy + 1].at - posts[busy].at >= 1900, `sent again ${posts[busy + 1].at - posts[busy].at} ms after the 429, Retry-After being 2 s`);
      assert.ok(
        (await query(databaseUrl, 'SELECT attempts FROM uploads')).every((row) => row.attempts === 1),
        'one counted attempt per instance',
      );
      assert.ok(!gateway.logLines().some((line) => line.cloudUnreachable === true), 'no outage was reported');
    } finally {
      await gateway.stop();
      await cloud.stop();
    }
  });
});

describe('cloud capacity rule', () => {
  test('a worker that met no room parks; one more is tried after the probe interval, and parks again if still no room', () => {
    let now = 0;
    const capacity = new CloudCapacity(4, 60000, () => now);
    assert.equal(capacity.parallel, 4);
    capacity.park('TLS handshake did not complete');
    capacity.park('TLS handshake did not complete');
    assert.equal(capacity.parallel, 2);
    assert.equal(capacity.mayResume(), false, 'no worker resumes before the probe interval');
    now = 60000;
    assert.equal(capacity.mayResume(), true, 'one worker probes');
    assert.equal(capacity.mayResume(), false, 'only one at a time');
    assert.equal(capacity.parallel, 3);
    capacity.park('still no room');
    assert.equal(capacity.parallel, 2);
    assert.equal(capacity.lastRefusal, 'still no room');
    now = 120000;
    assert.equal(capacity.mayResume(), true);
    now = 180000;
    assert.equal(capacity.mayResume(), true);
    assert.equal(capacity.parallel, 4);
    assert.equal(capacity.mayResume(), false, 'never above upload.workers');
  });
});
