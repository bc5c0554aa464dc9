// STOW-RS through a hospital's HTTP CONNECT proxy (the project's own, test/cloud-simulator/connect-proxy.ts):
// with and without Basic authentication, HTTPS_PROXY from the environment, and every way a proxy can fail named.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { UpstreamConfig } from '../agent/config/upstream-config';
import { createPacer } from '../agent/upload/pacer';
import { effectiveProxy, openTunnel } from '../agent/upload/proxy-tunnel';
import { createStowRsTransport } from '../agent/upload/stow-rs-transport';
import type { BatchOutcome, OutgoingInstance } from '../agent/upload/transport';
import { startConnectProxy } from './cloud-simulator/connect-proxy';
import { outgoingSeries } from './cloud-simulator/outgoing';
import { makeCloudPki, type CloudPki } from './cloud-simulator/pki';
import { startStowRsSimulator, type StowRsSimulator } from './cloud-simulator/stow-rs-server';
import { tempDir } from './helpers/temp-dir';

const PROXY_ENV = ['HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'];
let seed = 500;
const series = (slices = 3) => outgoingSeries(tempDir('proxy-ct'), { slices, rows: 32, columns: 32, seed: seed++ });

async function send(upstream: UpstreamConfig, batch: OutgoingInstance[], timeoutMs = 10_000): Promise<BatchOutcome> {
  const transport = createStowRsTransport(
    upstream,
    createPacer(() => 0),
    { batchMaxBytes: 1 << 30, timeoutMs },
  );
  try {
    return await transport.send(batch);
  } finally {
    await transport.close();
  }
}

function assertAllTransient(outcome: BatchOutcome, batch: OutgoingInstance[], pattern: RegExp) {
  assert.equal(outcome.delivered.length, 0);
  assert.equal(outcome.failed.length, batch.length);
  for (const failure of outcome.failed) {
    assert.match(failure.error, pattern);
    assert.equal(failure.permanent, false);
  }
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

describe('STOW-RS through an HTTP CONNECT proxy', () => {
  let pki: CloudPki;
  let sim: StowRsSimulator;
  const savedEnv: Record<string, string | undefined> = {};
  const upstream = (extra: Partial<UpstreamConfig> = {}): UpstreamConfig => ({ kind: 'stow-rs', url: sim.url, caFile: pki.caFile, storageCommitment: false, ...extra });

  before(async () => {
    for (const key of PROXY_ENV) savedEnv[key] = process.env[key];
    pki = makeCloudPki(tempDir('proxy-pki'));
    sim = await startStowRsSimulator({ pki, storeDir: tempDir('proxy-store'), token: 'cloud-token' });
  });
  beforeEach(() => {
    for (const key of PROXY_ENV) delete process.env[key];
  });
  after(async () => {
    for (const key of PROXY_ENV) {
      if (savedEnv[key] === undefined) delete process.env[key];
      else process.env[key] = savedEnv[key];
    }
    await sim.stop();
  });

  test('without proxy authentication: delivered through one kept-alive tunnel, bytes intact', async () => {
    const proxy = await startConnectProxy();
    try {
      const transport = createStowRsTransport(
        upstream({ proxy: proxy.url, token: 'cloud-token' }),
        createPacer(() => 0),
        { batchMaxBytes: 1 << 30 },
      );
      const first = series();
      const second = series();
      const a = await transport.send(first);
      const b = await transport.send(second);
      await transport.close();
      assert.deepEqual([...a.failed, ...b.failed], []);
      assert.equal(a.delivered.length + b.delivered.length, 6);
      for (const instance of [...first, ...second]) assert.ok(fs.readFileSync(sim.storedPath(instance.sopInstanceUid)).equals(fs.readFileSync(instance.filePath)));
      assert.equal(proxy.tunnels, 1, 'both requests through one tunnel');
      assert.equal(proxy.requests[0].target, `localhost:${sim.port}`);
    } finally {
      await proxy.stop();
    }
  });

  test('with Basic proxy authentication from the URL (user and password percent-encoded)', async () => {
    const proxy = await startConnectProxy({ auth: { user: 'HOSP\\gateway', password: 'p@ss:w/rd' } });
    try {
      const batch = series();
      const outcome = await send(upstream({ proxy: proxy.url, token: 'cloud-token' }), batch);
      assert.deepEqual(outcome.failed, []);
      assert.equal(outcome.delivered.length, 3);
      assert.equal(proxy.requests[0].authorization, `Basic ${Buffer.from('HOSP\\gateway:p@ss:w/rd').toString('base64')}`);
    } finally {
      await proxy.stop();
    }
  });

  test('a wrong or missing proxy password is "407 proxy authentication required", transient, password not shown', async () => {
    const proxy = await startConnectProxy({ auth: { user: 'gateway', password: 'right' } });
    try {
      const batch = series(2);
      const wrong = await send(upstream({ proxy: proxy.urlWith('gateway', 'wrong-secret'), token: 'cloud-token' }), batch);
      assertAllTransient(wrong, batch, /407 proxy authentication required.*user or password in upstream\.proxy is wrong/);
      assert.ok(!wrong.failed[0].error.includes('wrong-secret'), 'the password stays out of the message');
      const missing = await send(upstream({ proxy: `http://127.0.0.1:${proxy.port}`, token: 'cloud-token' }), batch);
      assertAllTransient(missing, batch, /407 proxy authentication required.*put user:password in upstream\.proxy/);
    } finally {
      await proxy.stop();
    }
  });

  test('HTTPS_PROXY from the environment is used when upstream.proxy is not set, NO_PROXY bypasses it', async () => {
    const proxy = await startConnectProxy();
    try {
      process.env.HTTPS_PROXY = proxy.url;
      const batch = series(2);
      const outcome = await send(upstream({ token: 'cloud-token' }), batch);
      assert.equal(outcome.delivered.length, 2);
      assert.equal(proxy.tunnels, 1);
      process.env.NO_PROXY = '.example.com, localhost';
      const bypassed = await send(upstream({ token: 'cloud-token' }), series(1));
      assert.equal(bypassed.delivered.length, 1);
      assert.equal(proxy.tunnels, 1, 'NO_PROXY host went direct');
      delete process.env.NO_PROXY;
      process.env.https_proxy = process.env.HTTPS_PROXY;
      delete process.env.HTTPS_PROXY;
      assert.equal(effectiveProxy(undefined, { host: 'cloud.example.org', port: 443 }), proxy.url);
      assert.equal(effectiveProxy('http://configured:3128', { host: 'cloud.example.org', port: 443 }), 'http://configured:3128');
    } finally {
      await proxy.stop();
    }
  });

  test('a proxy that cannot reach the cloud, a proxy not running, a proxy that never answers: each named', async () => {
    const proxy = await startConnectProxy();
    try {
      const batch = series(1);
      const unreachable = await send({ kind: 'stow-rs', url: `https://127.0.0.1:${await closedPort()}/dicom-web`, caFile: pki.caFile, storageCommitment: false, proxy: proxy.url }, batch);
      assertAllTransient(unreachable, batch, /proxy 127\.0\.0\.1:\d+ could not reach the target 127\.0\.0\.1:\d+ \(HTTP 502 Bad Gateway\)/);
    } finally {
      await proxy.stop();
    }
    const batch = series(1);
    assertAllTransient(await send(upstream({ proxy: `http://127.0.0.1:${await closedPort()}` }), batch), batch, /proxy 127\.0\.0\.1:\d+ refused the connection/);
    const silent = net.createServer(() => {}).listen(0, '127.0.0.1');
    await new Promise((resolve) => silent.once('listening', resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      assertAllTransient(await send(upstream({ proxy: `http://127.0.0.1:${port}` }), batch, 500), batch, /timed out after 0\.5 s opening a tunnel to localhost:\d+ through proxy 127\.0\.0\.1/);
    } finally {
      silent.close();
    }
  });

  test('openTunnel: a direct connection when no proxy is set', async () => {
    const socket = await openTunnel({ host: '127.0.0.1', port: sim.port }, undefined, 2000);
    try {
      assert.equal(socket.remotePort, sim.port);
    } finally {
      socket.destroy();
    }
  });
});
