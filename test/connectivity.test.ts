// `gateway test-connectivity`: every step against the cloud simulator with real certificates (good, expired, other CA),
// nothing listening, the CONNECT proxy with and without the right password, DICOM-TLS C-ECHO against Orthanc, a
// wrong called AE, the upload rate from a test database, and the command itself with --json.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { GatewayConfig } from '../agent/config/config';
import { parseConfig } from '../agent/config/config';
import type { UpstreamConfig } from '../agent/config/upstream-config';
import { main } from '../agent/cli';
import { formatConnectivityReport, runConnectivityTest, type ConnectivityReport } from '../agent/connectivity/test-connectivity';
import { migrate } from '../agent/db/migrate';
import { consoleLogger } from '../agent/logging';
import { recordInstance } from '../agent/studies/record-instance';
import { startConnectProxy, type ConnectProxy } from './cloud-simulator/connect-proxy';
import { startDicomTlsScp } from './cloud-simulator/dicom-tls-scp';
import { makeCloudPki, type CloudPki } from './cloud-simulator/pki';
import type { StowRsSimulator, StowRsSimulatorOptions } from './cloud-simulator/stow-rs-server';
import { startStowRsSimulator } from './cloud-simulator/stow-rs-server';
import { createTestDatabase } from './helpers/database';
import { freePort } from '../agent/db/embedded-postgres';
import { startOrthanc } from './helpers/orthanc';
import { tempDir } from './helpers/temp-dir';

const TOKEN = 'sekrit-token-0123456789';

function configWith(upstream: UpstreamConfig | undefined, extra: Partial<GatewayConfig> = {}): GatewayConfig {
  const config = parseConfig({ aeTitle: 'GATEWAY1', dataDir: tempDir('conn-data') }, '/');
  return { ...config, upstream, ...extra };
}

function stow(sim: StowRsSimulator, pki: CloudPki, extra: Partial<UpstreamConfig> = {}): UpstreamConfig {
  return { kind: 'stow-rs', url: sim.url, caFile: pki.caFile, token: TOKEN, storageCommitment: false, ...extra };
}

async function withSimulator<T>(pki: CloudPki, options: Partial<StowRsSimulatorOptions>, run: (sim: StowRsSimulator) => Promise<T>): Promise<T> {
  const sim = await startStowRsSimulator({ pki, storeDir: tempDir('conn-store'), token: TOKEN, ...options });
  try {
    return await run(sim);
  } finally {
    await sim.stop();
  }
}

const run = (config: GatewayConfig, databaseUrl: string | null = null) => runConnectivityTest(config, { databaseUrl, connectTimeoutMs: 5000, responseTimeoutMs: 5000 });

function step(report: ConnectivityReport, name: string) {
  const found = report.steps.find((s) => s.name === name);
  assert.ok(found, `step ${name} in ${JSON.stringify(report.steps.map((s) => s.name))}`);
  return found;
}

function assertNoSecrets(report: ConnectivityReport, ...secrets: string[]) {
  const text = JSON.stringify(report) + formatConnectivityReport(report);
  for (const secret of secrets) assert.ok(!text.includes(secret), `report must not contain ${secret}`);
}

describe('connectivity test', () => {
  let pki: CloudPki;
  before(() => {
    pki = makeCloudPki(tempDir('conn-pki'));
  });

  test('no upstream: one failing step', async () => {
    const report = await run(configWith(undefined));
    assert.equal(report.ok, false);
    assert.equal(report.steps.length, 1);
    assert.equal(report.steps[0].status, 'fail');
    assert.match(report.steps[0].detail, /upstream not configured/);
  });

  test('STOW-RS with a good certificate and the token: nothing fails, steps in order', async () => {
    await withSimulator(pki, {}, async (sim) => {
      const report = await run(configWith(stow(sim, pki)));
      assert.deepEqual(
        report.steps.map((s) => s.name),
        ['DNS', 'TCP connect', 'TLS handshake', 'HTTPS request', 'upload rate'],
      );
      assert.equal(report.ok, true, formatConnectivityReport(report));
      assert.equal(step(report, 'DNS').status, 'pass');
      assert.equal(step(report, 'TCP connect').status, 'pass');
      const tlsStep = step(report, 'TLS handshake');
      assert.match(tlsStep.detail, /subject CN=localhost, issuer CN=Gateway Test CA, valid to \S+ \(\d+ days left\)/);
      // The test PKI's certificates live 2 days: under 30 days is a warning.
      assert.equal(tlsStep.status, 'warn');
      assert.match(tlsStep.hint ?? '', /renew/);
      const service = step(report, 'HTTPS request');
      assert.equal(service.status, 'pass', service.detail);
      assert.match(service.detail, /HTTP 200/);
      assert.equal(step(report, 'upload rate').status, 'skipped');
      const get = sim.requests.find((r) => r.method === 'GET');
      assert.equal(get?.url, '/dicom-web/studies?limit=1');
      assert.equal(get?.authorization, `Bearer ${TOKEN}`);
      assertNoSecrets(report, TOKEN);
    });
  });

  test('wrong token: the service step fails with the token hint', async () => {
    await withSimulator(pki, {}, async (sim) => {
      const report = await run(configWith(stow(sim, pki, { token: 'not-the-token' })));
      assert.equal(report.ok, false);
      const service = step(report, 'HTTPS request');
      assert.equal(service.status, 'fail');
      assert.match(service.detail, /HTTP 401/);
      assert.match(service.hint ?? '', /bad or expired token/);
      assertNoSecrets(report, 'not-the-token');
    });
  });

  test('a 404 at the QIDO path is a warning, a 5xx a failure', async () => {
    await withSimulator(pki, { basePath: '/other' }, async (sim) => {
      const report = await run(configWith(stow(sim, pki, { url: sim.url.replace('/other', '/dicom-web') })));
      const service = step(report, 'HTTPS request');
      assert.equal(service.status, 'warn', service.detail);
      assert.match(service.hint ?? '', /upstream\.url/);
      assert.equal(report.ok, true);
    });
    await withSimulator(pki, { fault: { kind: 'status', status: 503 } }, async (sim) => {
      const report = await run(configWith(stow(sim, pki)));
      assert.equal(step(report, 'HTTPS request').status, 'fail');
      assert.equal(report.ok, false);
    });
  });

  test('expired certificate: TLS fails naming the cause, the service step is skipped', async () => {
    await withSimulator(pki, { certificate: 'expired' }, async (sim) => {
      const report = await run(configWith(stow(sim, pki)));
      const tlsStep = step(report, 'TLS handshake');
      assert.equal(tlsStep.status, 'fail');
      assert.match(tlsStep.detail, /expired/);
      assert.match(tlsStep.detail, /CERT_HAS_EXPIRED/);
      assert.match(tlsStep.hint ?? '', /renew/);
      assert.equal(step(report, 'HTTPS request').status, 'skipped');
      assert.equal(report.ok, false);
    });
  });

  test('unknown CA: TLS fails with the interception hint', async () => {
    await withSimulator(pki, { certificate: 'unknown-ca' }, async (sim) => {
      const report = await run(configWith(stow(sim, pki)));
      const tlsStep = step(report, 'TLS handshake');
      assert.equal(tlsStep.status, 'fail');
      assert.match(tlsStep.detail, /unknown issuer.*Intercepting Proxy CA/);
      assert.match(tlsStep.hint ?? '', /intercepting TLS/);
    });
  });

  test('wrong host certificate: TLS fails with the host name hint', async () => {
    await withSimulator(pki, { certificate: 'wrong-host' }, async (sim) => {
      const report = await run(configWith(stow(sim, pki)));
      const tlsStep = step(report, 'TLS handshake');
      assert.equal(tlsStep.status, 'fail');
      assert.match(tlsStep.detail, /host name mismatch/);
    });
  });

  test('nothing listening: TCP fails with the firewall hint, later steps skipped', async () => {
    const port = await freePort();
    const report = await run(configWith({ kind: 'stow-rs', url: `https://127.0.0.1:${port}/dicom-web`, token: TOKEN, storageCommitment: false }));
    const tcp = step(report, 'TCP connect');
    assert.equal(tcp.status, 'fail');
    assert.match(tcp.detail, /refused/);
    assert.match(tcp.hint ?? '', /firewall/);
    assert.equal(step(report, 'TLS handshake').status, 'skipped');
    assert.equal(step(report, 'HTTPS request').status, 'skipped');
    assert.equal(report.ok, false);
  });

  test('a host that does not resolve: DNS fails; through a proxy it is only a warning', async () => {
    const direct = await run(configWith({ kind: 'stow-rs', url: 'https://cloud.does-not-exist.invalid/dicom-web', storageCommitment: false }));
    assert.equal(step(direct, 'DNS').status, 'fail');
    assert.equal(step(direct, 'TCP connect').status, 'skipped');
    const proxy = await startConnectProxy();
    try {
      const viaProxy = await run(configWith({ kind: 'stow-rs', url: 'https://cloud.does-not-exist.invalid/dicom-web', proxy: proxy.url, storageCommitment: false }));
      assert.equal(step(viaProxy, 'DNS').status, 'warn');
      const tcp = step(viaProxy, 'TCP connect');
      assert.equal(tcp.status, 'fail');
      assert.match(tcp.detail, /could not reach the target/);
    } finally {
      await proxy.stop();
    }
  });

  describe('through the CONNECT proxy', () => {
    let proxy: ConnectProxy;
    before(async () => {
      proxy = await startConnectProxy({ auth: { user: 'gateway', password: 'proxy-pass-42' } });
    });
    after(() => proxy.stop());

    test('with the right password: passes', async () => {
      await withSimulator(pki, {}, async (sim) => {
        const report = await run(configWith(stow(sim, pki, { proxy: proxy.url })));
        assert.equal(report.ok, true, formatConnectivityReport(report));
        assert.match(step(report, 'TCP connect').detail, /through proxy http:\/\/gateway@127\.0\.0\.1/);
        assert.equal(step(report, 'HTTPS request').status, 'pass');
        assert.ok(proxy.requests.some((r) => r.status === 200));
        assert.match(report.upstream?.proxy ?? '', /^http:\/\/gateway@127\.0\.0\.1:\d+$/);
        assertNoSecrets(report, 'proxy-pass-42', TOKEN);
      });
    });

    test('with a wrong password: TCP fails with the 407 hint', async () => {
      await withSimulator(pki, {}, async (sim) => {
        const report = await run(configWith(stow(sim, pki, { proxy: proxy.urlWith('gateway', 'wrong-pass-99') })));
        const tcp = step(report, 'TCP connect');
        assert.equal(tcp.status, 'fail');
        assert.match(tcp.detail, /407 proxy authentication required/);
        assert.match(tcp.hint ?? '', /user and password/);
        assert.equal(report.ok, false);
        assertNoSecrets(report, 'wrong-pass-99');
      });
    });
  });

  test('DICOM-TLS against Orthanc (mutual TLS): association and C-ECHO pass', async () => {
    const orthanc = await startOrthanc({ dir: tempDir('conn-orthanc'), pki });
    try {
      const upstream: UpstreamConfig = {
        kind: 'dicom-tls',
        host: '127.0.0.1',
        port: orthanc.dicomPort,
        calledAeTitle: orthanc.aeTitle,
        caFile: pki.caFile,
        certFile: pki.clientCertFile,
        keyFile: pki.clientKeyFile,
        storageCommitment: false,
      };
      const report = await run(configWith(upstream));
      assert.deepEqual(
        report.steps.map((s) => s.name),
        ['DNS', 'TCP connect', 'TLS handshake', 'C-ECHO', 'upload rate'],
      );
      assert.equal(report.ok, true, formatConnectivityReport(report));
      const echo = step(report, 'C-ECHO');
      assert.equal(echo.status, 'pass');
      assert.match(echo.detail, /C-ECHO status 0x0000/);

      const wrongAe = await run(configWith({ ...upstream, calledAeTitle: 'NOTTHEPACS' }));
      const rejected = step(wrongAe, 'C-ECHO');
      assert.equal(rejected.status, 'fail', rejected.detail);
      assert.match(rejected.detail, /association rejected/);
      assert.match(rejected.hint ?? '', /calledAeTitle/);
    } finally {
      await orthanc.stop();
    }
  });

  test('DICOM-TLS with a wrong called AE (simulator): fails with the AE hint', async () => {
    const scp = await startDicomTlsScp({ certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, aeTitle: 'CLOUDSIM' });
    try {
      const report = await run(configWith({ kind: 'dicom-tls', host: 'localhost', port: scp.port, calledAeTitle: 'WRONGAE', caFile: pki.caFile, storageCommitment: false }));
      assert.equal(step(report, 'TLS handshake').status, 'warn');
      const echo = step(report, 'C-ECHO');
      assert.equal(echo.status, 'fail');
      assert.match(echo.detail, /does not know AE title WRONGAE: check upstream\.calledAeTitle/);
      assert.match(echo.hint ?? '', /calledAeTitle/);
      assert.equal(report.ok, false);
    } finally {
      await scp.close();
    }
  });

  describe('upload rate from the database', () => {
    let url: string;
    let pool: pg.Pool;
    before(async () => {
      url = await createTestDatabase();
      pool = new pg.Pool({ connectionString: url, max: 2 });
      await migrate(pool, consoleLogger('warn'));
      const study = `1.2.3.${Date.now()}`;
      for (let i = 0; i < 2; i++) {
        await recordInstance(pool, {
          sopInstanceUid: `${study}.1.${i}`,
          seriesUid: `${study}.1`,
          studyUid: study,
          modality: 'CT',
          sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
          transferSyntaxUid: '1.2.840.10008.1.2.1',
          spoolPath: `x/${study}.${i}.dcm`,
          fileBytes: 1000,
          datasetSha256: crypto.randomBytes(32),
          callingAe: 'CT1',
          associationId: undefined,
        });
      }
    });
    after(() => pool.end());

    /** Two deliveries 10 s apart, `deliveredSecondsAgo` ago, of `totalBytes` together. */
    async function deliveries(totalBytes: number, deliveredSecondsAgo = 20) {
      await pool.query('UPDATE instances SET file_bytes = $1', [totalBytes / 2]);
      await pool.query(
        `UPDATE uploads SET state = 'done',
                delivered_at = now() - make_interval(secs => $1) + CASE WHEN sop_instance_uid LIKE '%.0' THEN interval '0' ELSE interval '10 seconds' END`,
        [deliveredSecondsAgo],
      );
    }

    test('pass at 20 Mbps or more, warn between 5 and 20, fail below 5, skipped without recent uploads', async () => {
      await withSimulator(pki, {}, async (sim) => {
        const config = configWith(stow(sim, pki));
        await deliveries(50e6); // 40 Mbps
        let report = await run(config, url);
        let rate = step(report, 'upload rate');
        assert.equal(rate.status, 'pass', rate.detail);
        assert.equal(report.uploadMbps, 40);

        await deliveries(12.5e6); // 10 Mbps
        report = await run(config, url);
        rate = step(report, 'upload rate');
        assert.equal(rate.status, 'warn', rate.detail);
        assert.match(rate.detail, /below the recommended 20 Mbps/);
        assert.equal(report.ok, true);

        await deliveries(2.5e6); // 2 Mbps
        report = await run(config, url);
        rate = step(report, 'upload rate');
        assert.equal(rate.status, 'fail', rate.detail);
        assert.match(rate.detail, /below the 5 Mbps minimum/);
        assert.equal(report.ok, false);

        await deliveries(50e6, 3600); // an hour ago
        report = await run(config, url);
        rate = step(report, 'upload rate');
        assert.equal(rate.status, 'skipped');
        assert.match(rate.detail, /no recent uploads/);
      });
    });

    test('gateway test-connectivity --json: exit code and JSON, no secrets printed', async () => {
      await deliveries(50e6);
      await withSimulator(pki, {}, async (sim) => {
        const dir = tempDir('conn-config');
        const write = (token: string) => {
          const file = path.join(dir, `gateway-${token}.json`);
          fs.writeFileSync(file, JSON.stringify({ aeTitle: 'GATEWAY1', dataDir: 'data', database: { url }, upstream: { kind: 'stow-rs', url: sim.url, caFile: pki.caFile, token } }));
          return file;
        };
        const capture = async (args: string[]) => {
          const lines: string[] = [];
          const log = console.log;
          console.log = (...parts: unknown[]) => lines.push(parts.join(' '));
          try {
            return { code: await main(['test-connectivity', ...args]), out: lines.join('\n') };
          } finally {
            console.log = log;
          }
        };
        const good = await capture(['--config', write(TOKEN), '--json']);
        assert.equal(good.code, 0, good.out);
        const report = JSON.parse(good.out) as ConnectivityReport;
        assert.equal(report.ok, true);
        assert.deepEqual(
          report.steps.map((s) => s.status),
          ['pass', 'pass', 'warn', 'pass', 'pass'],
        );
        assert.ok(!good.out.includes(TOKEN));

        const bad = await capture(['--config', write('expired-token-xyz'), '--json']);
        assert.equal(bad.code, 1);
        assert.equal((JSON.parse(bad.out) as ConnectivityReport).steps[3].status, 'fail');
        assert.ok(!bad.out.includes('expired-token-xyz'));

        const table = await capture(['--config', write('expired-token-abc')]);
        assert.equal(table.code, 1);
        assert.match(table.out, /FAIL\s+HTTPS request/);
        assert.match(table.out, /fix: bad or expired token/);
        assert.match(table.out, /Connectivity FAILED/);

        const errors: string[] = [];
        const error = console.error;
        console.error = (...parts: unknown[]) => errors.push(parts.join(' '));
        try {
          assert.equal(await main(['test-connectivity', '--bogus']), 2);
        } finally {
          console.error = error;
        }
      });
    });
  });
});
