// The STOW-RS transport against the project's cloud simulator: byte-exact delivery, token and client certificate,
// every fault ending in a clear per-instance failure (never a throw), 409 as delivered, certificate problems named,
// and the bandwidth cap.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { before, describe, test } from 'node:test';
import type { UpstreamConfig } from '../agent/config/upstream-config';
import { createPacer } from '../agent/upload/pacer';
import { createStowRsTransport, interpret } from '../agent/upload/stow-rs-transport';
import type { BatchOutcome, OutgoingInstance } from '../agent/upload/transport';
import { outgoingSeries } from './cloud-simulator/outgoing';
import { makeCloudPki, type CloudPki } from './cloud-simulator/pki';
import { startStowRsSimulator, type StowRsSimulator, type StowRsSimulatorOptions } from './cloud-simulator/stow-rs-server';
import { tempDir } from './helpers/temp-dir';

const unlimited = createPacer(() => 0);
let seed = 100;
const series = (slices = 4, size = 32) => outgoingSeries(tempDir('stow-ct'), { slices, rows: size, columns: size, seed: seed++ });

function upstreamFor(sim: StowRsSimulator, pki: CloudPki, extra: Partial<UpstreamConfig> = {}): UpstreamConfig {
  return { kind: 'stow-rs', url: sim.url, caFile: pki.caFile, storageCommitment: false, ...extra };
}

async function withSimulator<T>(pki: CloudPki, options: Partial<StowRsSimulatorOptions>, run: (sim: StowRsSimulator) => Promise<T>): Promise<T> {
  const sim = await startStowRsSimulator({ pki, storeDir: tempDir('stow-store'), ...options });
  try {
    return await run(sim);
  } finally {
    await sim.stop();
  }
}

async function sendThrough(sim: StowRsSimulator, pki: CloudPki, batch: OutgoingInstance[], extra: Partial<UpstreamConfig> = {}, timeoutMs = 10_000): Promise<BatchOutcome> {
  const transport = createStowRsTransport(upstreamFor(sim, pki, extra), unlimited, { batchMaxBytes: 64 * 1024 * 1024, timeoutMs });
  try {
    return await transport.send(batch);
  } finally {
    await transport.close();
  }
}

function assertAllFailed(outcome: BatchOutcome, batch: OutgoingInstance[], pattern: RegExp, permanent = false) {
  assert.equal(outcome.delivered.length, 0, 'nothing delivered');
  assert.equal(outcome.failed.length, batch.length, 'every instance reported');
  for (const failure of outcome.failed) {
    assert.match(failure.error, pattern);
    assert.equal(failure.permanent, permanent, `${failure.error} permanent=${permanent}`);
  }
}

describe('STOW-RS transport', () => {
  let pki: CloudPki;
  before(() => {
    pki = makeCloudPki(tempDir('stow-pki'));
  });

  test('delivers a batch: every stored part equals its spool file, connections are reused', async () => {
    await withSimulator(pki, {}, async (sim) => {
      const transport = createStowRsTransport(upstreamFor(sim, pki), unlimited, { batchMaxBytes: 64 * 1024 * 1024 });
      const first = series(5);
      const second = series(3);
      const a = await transport.send(first);
      const b = await transport.send(second);
      await transport.close();
      assert.deepEqual(a.failed, []);
      assert.deepEqual(b.failed, []);
      assert.deepEqual(
        a.delivered.map((i) => i.sopInstanceUid),
        first.map((i) => i.sopInstanceUid),
      );
      for (const instance of [...first, ...second]) {
        assert.ok(fs.readFileSync(sim.storedPath(instance.sopInstanceUid)).equals(fs.readFileSync(instance.filePath)), 'stored bytes equal the spool file');
      }
      assert.equal(sim.requests.length, 2);
      assert.equal(sim.requests[0].parts, 5);
      assert.match(sim.requests[0].contentType ?? '', /^multipart\/related; type="application\/dicom"; boundary=/);
      assert.equal(sim.requests[0].url, '/dicom-web/studies');
      assert.equal(sim.connections, 1, 'one kept-alive connection for both requests');
    });
  });

  test('splits a batch so that no request exceeds batchMaxBytes', async () => {
    await withSimulator(pki, {}, async (sim) => {
      const batch = series(6, 64);
      const transport = createStowRsTransport(upstreamFor(sim, pki), unlimited, { batchMaxBytes: batch[0].fileBytes * 2 + 1000 });
      const outcome = await transport.send(batch);
      await transport.close();
      assert.equal(outcome.delivered.length, 6);
      assert.equal(sim.requests.length, 3);
      for (const request of sim.requests) assert.ok(request.bodyBytes <= batch[0].fileBytes * 2 + 1000);
    });
  });

  test('bearer token: sent when set; a wrong one is a transient "bad or expired token", a fixed one resumes', async () => {
    await withSimulator(pki, { token: 'secret-token' }, async (sim) => {
      const batch = series(2);
      assertAllFailed(await sendThrough(sim, pki, batch, { token: 'stale' }), batch, /bad or expired token/);
      assertAllFailed(await sendThrough(sim, pki, batch), batch, /bad or expired token/);
      const good = await sendThrough(sim, pki, batch, { token: 'secret-token' });
      assert.equal(good.delivered.length, 2);
      assert.equal(sim.requests.at(-1)?.authorization, 'Bearer secret-token');
    });
  });

  test('client certificate: presented when set; missing or from another CA is "client certificate refused"', async () => {
    await withSimulator(pki, { requireClientCertificate: true }, async (sim) => {
      const batch = series(2);
      const good = await sendThrough(sim, pki, batch, { certFile: pki.clientCertFile, keyFile: pki.clientKeyFile });
      assert.deepEqual(good.failed, []);
      assert.equal(sim.requests.at(-1)?.clientCertificateSubject, 'Modality CT1');
      const other = series(1);
      assertAllFailed(await sendThrough(sim, pki, other), other, /client certificate refused/);
      // Node's TLS server closes without an alert when it does not trust the certificate.
      assertAllFailed(await sendThrough(sim, pki, other, { certFile: pki.rogueClientCertFile, keyFile: pki.rogueClientKeyFile }), other, /closed the connection.*client certificate/);
    });
    await withSimulator(pki, { requireClientCertificate: true, untrustedClientCertificate: 'http-403' }, async (sim) => {
      const other = series(1);
      assertAllFailed(await sendThrough(sim, pki, other, { certFile: pki.rogueClientCertFile, keyFile: pki.rogueClientKeyFile }), other, /client certificate refused/);
      assert.equal((await sendThrough(sim, pki, other, { certFile: pki.clientCertFile, keyFile: pki.clientKeyFile })).delivered.length, 1);
    });
  });

  test('server certificates: expired, wrong host and unknown issuer are named', async () => {
    const batch = series(1);
    await withSimulator(pki, { certificate: 'expired' }, async (sim) => {
      assertAllFailed(await sendThrough(sim, pki, batch), batch, /expired on .*2020/);
    });
    await withSimulator(pki, { certificate: 'wrong-host' }, async (sim) => {
      assertAllFailed(await sendThrough(sim, pki, batch), batch, /host name mismatch/);
    });
    await withSimulator(pki, { certificate: 'unknown-ca' }, async (sim) => {
      assertAllFailed(await sendThrough(sim, pki, batch), batch, /unknown issuer.*Intercepting Proxy CA.*upstream\.caFile/);
    });
  });

  test('faults end in transient failures per instance, never a throw', async () => {
    const batch = series(3, 64);
    await withSimulator(pki, { fault: { kind: 'close-on-connect' } }, async (sim) => {
      assertAllFailed(await sendThrough(sim, pki, batch), batch, /STOW-RS to localhost:\d+: .*(closed|reset|hang up|disconnected)/i);
    });
    await withSimulator(pki, { fault: { kind: 'reset-after-bytes', bytes: 10_000 } }, async (sim) => {
      assertAllFailed(await sendThrough(sim, pki, batch), batch, /STOW-RS to localhost:\d+: connection (reset by the server or a firewall|closed by the server while we were sending)/);
    });
    for (const status of [500, 503]) {
      await withSimulator(pki, { fault: { kind: 'status', status } }, async (sim) => {
        assertAllFailed(await sendThrough(sim, pki, batch), batch, new RegExp(`busy or failing \\(HTTP ${status}`));
      });
    }
    await withSimulator(pki, { fault: { kind: 'hang' } }, async (sim) => {
      assertAllFailed(await sendThrough(sim, pki, batch, {}, 1000), batch, /no answer from localhost:\d+ within 1 s/);
    });
    await withSimulator(pki, { fault: { kind: 'forget-confirmations' } }, async (sim) => {
      assertAllFailed(await sendThrough(sim, pki, batch), batch, /not confirmed by the server/);
    });
    // Nothing listening.
    const closed = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (server.address() as net.AddressInfo).port;
        server.close(() => resolve(port));
      });
    });
    const transport = createStowRsTransport({ kind: 'stow-rs', url: `https://127.0.0.1:${closed}/dicom-web`, caFile: pki.caFile, storageCommitment: false }, unlimited, { batchMaxBytes: 1 << 30 });
    assertAllFailed(await transport.send(batch), batch, /STOW-RS: cannot connect to 127.0.0.1:\d+: connection refused/);
    await transport.close();
  });

  test('per-instance answers: data errors are permanent, processing failures transient, the rest delivered', async () => {
    const batch = series(4);
    const [bad, busy, processing] = batch;
    await withSimulator(
      pki,
      {
        failInstances: new Map([
          [bad.sopInstanceUid, 0xa900],
          [busy.sopInstanceUid, 0xa700],
          [processing.sopInstanceUid, 0x0110],
        ]),
      },
      async (sim) => {
        const outcome = await sendThrough(sim, pki, batch);
        assert.equal(sim.requests[0].status, 202);
        assert.deepEqual(
          outcome.delivered.map((i) => i.sopInstanceUid),
          [batch[3].sopInstanceUid],
        );
        const byUid = new Map(outcome.failed.map((f) => [f.instance.sopInstanceUid, f]));
        assert.equal(byUid.get(bad.sopInstanceUid)?.permanent, true);
        assert.match(byUid.get(bad.sopInstanceUid)!.error, /0xA900/);
        assert.equal(byUid.get(busy.sopInstanceUid)?.permanent, false);
        assert.equal(byUid.get(processing.sopInstanceUid)?.permanent, false);
      },
    );
  });

  test('409 for instances already stored counts as delivered (listed or not)', async () => {
    const batch = series(3);
    await withSimulator(pki, {}, async (sim) => {
      assert.equal((await sendThrough(sim, pki, batch)).delivered.length, 3);
      const again = await sendThrough(sim, pki, batch);
      assert.equal(sim.requests[1].status, 409);
      assert.deepEqual(again.failed, []);
      assert.equal(again.delivered.length, 3);
      sim.settings.conflictBody = 'empty';
      const bare = await sendThrough(sim, pki, batch);
      assert.equal(sim.requests[2].status, 409);
      assert.deepEqual(bare.failed, []);
      assert.equal(bare.delivered.length, 3);
    });
  });

  test('409 for the first attempt of a correction is no delivery: the cloud kept the earlier version', async () => {
    const batch = series(2);
    await withSimulator(pki, {}, async (sim) => {
      assert.equal((await sendThrough(sim, pki, batch)).delivered.length, 2);
      const corrections = batch.map((instance) => ({ ...instance, corrected: true, attempts: 1 }));
      const first = await sendThrough(sim, pki, corrections);
      assert.equal(sim.requests[1].status, 409);
      assert.deepEqual(first.delivered, []);
      assert.ok(first.failed.every((f) => f.permanent && /earlier version of this corrected instance/.test(f.error)));
      // A retry of the same corrected version may meet its own earlier success: delivered.
      const retry = await sendThrough(
        sim,
        pki,
        corrections.map((instance) => ({ ...instance, attempts: 2 })),
      );
      assert.equal(retry.delivered.length, 2);
    });
  });

  test('a missing spool file fails permanently alone; the rest is delivered', async () => {
    const batch = series(3);
    fs.rmSync(batch[1].filePath);
    await withSimulator(pki, {}, async (sim) => {
      const outcome = await sendThrough(sim, pki, batch);
      assert.equal(outcome.delivered.length, 2);
      assert.equal(outcome.failed.length, 1);
      assert.equal(outcome.failed[0].instance, batch[1]);
      assert.equal(outcome.failed[0].permanent, true);
      assert.match(outcome.failed[0].error, /spool file .* cannot be read/);
    });
  });

  test('the pacer caps the rate: about 2 MiB at 8 Mbps takes about 2 s', async () => {
    const batch = series(16, 256);
    const bytes = batch.reduce((n, i) => n + i.fileBytes, 0);
    const expectedMs = ((bytes * 8) / 8e6) * 1000;
    await withSimulator(pki, {}, async (sim) => {
      const transport = createStowRsTransport(
        upstreamFor(sim, pki),
        createPacer(() => 8),
        { batchMaxBytes: 1 << 30 },
      );
      const start = performance.now();
      const outcome = await transport.send(batch);
      const elapsed = performance.now() - start;
      await transport.close();
      assert.equal(outcome.delivered.length, 16);
      assert.ok(elapsed > expectedMs * 0.8 && elapsed < expectedMs * 2 + 1000, `took ${Math.round(elapsed)} ms, expected about ${Math.round(expectedMs)} ms`);
    });
  });

  test('a slow link (server reading at 16 Mbps) is followed with backpressure, bytes intact', async () => {
    const batch = series(8, 256);
    const bytes = batch.reduce((n, i) => n + i.fileBytes, 0);
    const expectedMs = ((bytes * 8) / 16e6) * 1000;
    await withSimulator(pki, { throttleMbps: 16 }, async (sim) => {
      const start = performance.now();
      const outcome = await sendThrough(sim, pki, batch);
      const elapsed = performance.now() - start;
      assert.equal(outcome.delivered.length, 8);
      for (const instance of batch) assert.ok(fs.readFileSync(sim.storedPath(instance.sopInstanceUid)).equals(fs.readFileSync(instance.filePath)));
      assert.ok(elapsed > expectedMs * 0.7, `took ${Math.round(elapsed)} ms, expected about ${Math.round(expectedMs)} ms`);
    });
  });
});

describe('STOW-RS answers', () => {
  const batch: OutgoingInstance[] = ['1.2.3', '1.2.4'].map((uid) => ({
    sopInstanceUid: uid,
    studyUid: '1.2',
    sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    spoolPath: uid,
    fileBytes: 1,
    datasetSha256: Buffer.alloc(32),
    attempts: 1,
    filePath: uid,
  }));

  test('XML answers are understood too', () => {
    const xml = `<?xml version="1.0"?><NativeDicomModel>
      <DicomAttribute tag="00081198" vr="SQ" keyword="FailedSOPSequence"><Item number="1">
        <DicomAttribute tag="00081155" vr="UI"><Value number="1">1.2.4</Value></DicomAttribute>
        <DicomAttribute tag="00081197" vr="US"><Value number="1">43264</Value></DicomAttribute></Item></DicomAttribute>
      <DicomAttribute tag="00081199" vr="SQ" keyword="ReferencedSOPSequence"><Item number="1">
        <DicomAttribute tag="00081155" vr="UI"><Value number="1">1.2.3</Value></DicomAttribute></Item></DicomAttribute>
      </NativeDicomModel>`;
    const outcome = interpret(202, 'Accepted', { 'content-type': 'application/dicom+xml' }, Buffer.from(xml), batch);
    assert.deepEqual(
      outcome.delivered.map((i) => i.sopInstanceUid),
      ['1.2.3'],
    );
    assert.equal(outcome.failed[0].instance.sopInstanceUid, '1.2.4');
    assert.equal(outcome.failed[0].permanent, true);
  });

  test('redirects, 404 and 413 name the setting to fix, and are transient', () => {
    assert.match(interpret(301, 'Moved', { location: 'https://x/y' }, Buffer.alloc(0), batch).failed[0].error, /upstream\.url/);
    assert.match(interpret(404, 'Not Found', {}, Buffer.alloc(0), batch).failed[0].error, /upstream\.url/);
    const tooLarge = interpret(413, 'Payload Too Large', {}, Buffer.alloc(0), batch);
    assert.match(tooLarge.failed[0].error, /batchMaxBytes/);
    assert.equal(tooLarge.failed[0].permanent, false);
    assert.equal(interpret(413, 'Payload Too Large', {}, Buffer.alloc(0), batch.slice(0, 1)).failed[0].permanent, true);
  });

  test('429/503 with Retry-After (seconds or a date) say the cloud is busy and for how long; without it, an outage', () => {
    const busy = (status: number, headers: Record<string, string>) => {
      const { unreachable, noRoom, retryAfterMs } = interpret(status, '', headers, Buffer.alloc(0), batch);
      return { unreachable: unreachable !== undefined, noRoom: noRoom ?? false, retryAfterMs };
    };
    assert.deepEqual(busy(429, { 'retry-after': '2' }), { unreachable: true, noRoom: true, retryAfterMs: 2000 });
    const dated = busy(503, { 'retry-after': new Date(Date.now() + 30_000).toUTCString() });
    assert.ok(dated.noRoom && dated.retryAfterMs! > 28_000 && dated.retryAfterMs! <= 30_000, `${dated.retryAfterMs} ms`);
    assert.deepEqual(busy(503, {}), { unreachable: true, noRoom: false, retryAfterMs: undefined });
    assert.deepEqual(busy(429, { 'retry-after': 'soon' }), { unreachable: true, noRoom: false, retryAfterMs: undefined });
    assert.deepEqual(busy(500, { 'retry-after': '2' }), { unreachable: true, noRoom: false, retryAfterMs: undefined });
  });
});

describe('pacer', () => {
  test('0 is unlimited; a rate applies from the next take, shared by concurrent takers', async () => {
    let mbps = 0;
    const pacer = createPacer(() => mbps);
    let start = performance.now();
    await pacer.take(1e9);
    assert.ok(performance.now() - start < 50, 'unlimited does not wait');
    mbps = 80; // 10 MB/s
    start = performance.now();
    await Promise.all([pacer.take(500_000), pacer.take(500_000), pacer.take(500_000), pacer.take(500_000)]);
    const elapsed = performance.now() - start;
    assert.ok(elapsed > 150 && elapsed < 600, `2 MB at 80 Mbps took ${Math.round(elapsed)} ms, expected about 200 ms`);
  });
});
