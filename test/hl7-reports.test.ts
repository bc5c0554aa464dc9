// Reports back: the cloud's outbox (GET <hl7.url>/outbox) fetched by a real agent, kept, delivered to an EMR
// stand-in over MLLP one at a time; AA then the cloud is told (DELETE), AE failed with its reason, no ACK retried.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { startHl7Endpoint, type Hl7Endpoint } from './cloud-simulator/hl7-endpoint';
import { makeCloudPki } from './cloud-simulator/pki';
import { createTestDatabase, query } from './helpers/database';
import { startEmrStandIn, type EmrStandIn } from './helpers/emr-mllp';
import { GATEWAY_BIN, startGateway, type GatewayProcess } from './helpers/gateway-process';
import type { ApiStatus } from '../agent/api/types';
import { TrayState } from '../tray/tray-state';
import { tempDir } from './helpers/temp-dir';
import { waitFor } from './helpers/wait';
import { freePort } from '../agent/db/embedded-postgres';
import { oruR01 } from './fixtures/hl7-messages';

/** Runs a gateway command without blocking this process (the cloud simulator answers from it). */
async function gatewayCli(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [GATEWAY_BIN, ...args]).catch((err: { stdout: string }) => ({ stdout: err.stdout }));
  return stdout;
}

describe('HL7 reports from the cloud to the EMR', () => {
  let cloud: Hl7Endpoint;
  let emr: EmrStandIn;
  let gateway: GatewayProcess;
  let databaseUrl: string;

  before(async () => {
    const pki = makeCloudPki(tempDir('hl7r-pki'));
    cloud = await startHl7Endpoint({ pki, token: 'hl7-token' });
    emr = await startEmrStandIn('ack');
    databaseUrl = await createTestDatabase();
    gateway = await startGateway({
      dataDir: tempDir('hl7r-gw'),
      database: databaseUrl,
      config: {
        upload: { retryBaseSeconds: 1, retryMaxSeconds: 2 },
        hl7: {
          port: await freePort(),
          bindAddress: '127.0.0.1',
          url: cloud.url,
          caFile: pki.caFile,
          token: 'hl7-token',
          pollSeconds: 2,
          deliverTo: { host: '127.0.0.1', port: emr.port, ackTimeoutSeconds: 2 },
        },
      },
    });
  });
  after(async () => {
    await gateway.stop();
    await emr.stop();
    await cloud.stop();
  });

  const reportState = async (controlId: string) => (await query(databaseUrl, 'SELECT state, last_error, attempts FROM hl7_reports WHERE control_id = $1', [controlId]))[0];

  test('reports are delivered one at a time in the order fetched, byte for byte; the cloud is told after each AA', async () => {
    const reports = ['ORU-1', 'ORU-2', 'ORU-3'].map((id) => oruR01(id));
    const ids = reports.map((r) => cloud.addReport(r));
    await waitFor('three reports confirmed to the cloud', () => ids.every((id) => cloud.confirmed.includes(id)), 20_000);
    assert.deepEqual(
      emr.received.map((r) => r.controlId),
      ['ORU-1', 'ORU-2', 'ORU-3'],
    );
    emr.received.forEach((r, i) => assert.ok(r.body.equals(reports[i]), `report ${i} delivered as the cloud sent it`));
    assert.deepEqual(cloud.confirmed, ids);
    assert.equal(cloud.outbox.size, 0);
    await waitFor('rows done', async () => (await reportState('ORU-3'))?.state === 'done');
  });

  test('an AE from the EMR fails the report visibly with its reason; the cloud is not told', async () => {
    emr.behavior = 'error';
    const id = cloud.addReport(oruR01('ORU-AE'));
    await waitFor('report failed', async () => (await reportState('ORU-AE'))?.state === 'failed', 20_000);
    assert.match(String((await reportState('ORU-AE')).last_error), /the EMR answered AE: unknown patient identifier/);
    assert.ok(!cloud.confirmed.includes(id));
    assert.ok(cloud.outbox.has(id), 'the report stays in the cloud outbox');

    // Visible: amber with the reason in /api/status (what the tray and the status page show), /metrics, `gateway status`.
    const status = (await (await fetch(`http://127.0.0.1:${gateway.apiPort}/api/status`)).json()) as ApiStatus;
    assert.equal(status.state, 'amber');
    assert.ok(status.reasons.some((r) => r.code === 'hl7-reports-failed'));
    assert.equal(status.hl7?.listening, true);
    assert.deepEqual(status.hl7?.reports, { queued: 0, delivered: 3, failed: 1 });
    assert.match(String(status.hl7?.lastError), /the EMR answered AE/);
    const metrics = await (await fetch(`http://127.0.0.1:${gateway.apiPort}/metrics`)).text();
    assert.match(metrics, /^gateway_hl7_reports_failed 1$/m);
    assert.match(metrics, /^gateway_hl7_reports_delivered_total 3$/m);
    const cli = await gatewayCli('status', '--config', gateway.configFile);
    assert.match(cli, /HL7 reports +0 waiting for the EMR, 3 delivered/);
    assert.match(cli, /FAILED HL7 +0 messages, 1 reports/);
    const tray = new TrayState().observe({ status }, new Date());
    assert.equal(tray.view.colour, 'amber');
    assert.deepEqual(
      tray.notices.map((n) => n.kind),
      ['hl7-failed'],
    );
    emr.behavior = 'ack';
  });

  test('no ACK (a stalled EMR, then a refused connection) is retried until the EMR answers AA', async () => {
    emr.behavior = 'stall';
    const id = cloud.addReport(oruR01('ORU-STALL'));
    await waitFor('no ACK recorded', async () => /no ACK from the EMR/.test(String((await reportState('ORU-STALL'))?.last_error)), 20_000);
    emr.behavior = 'refuse';
    await waitFor('connection closed recorded', async () => /closed the connection without an ACK/.test(String((await reportState('ORU-STALL'))?.last_error)), 45_000);
    assert.equal((await reportState('ORU-STALL')).state, 'queued');
    assert.ok(!cloud.confirmed.includes(id));
    emr.behavior = 'ack';
    await waitFor('delivered after the EMR is back', () => cloud.confirmed.includes(id), 20_000);
    assert.ok((await reportState('ORU-STALL')).attempts >= 3);
    assert.ok(!gateway.output().includes('TESTPATIENT'), 'no patient values in the log');
  });

  test('the connectivity test checks the HL7 endpoint (authenticated) and the EMR MLLP port', async () => {
    const report = JSON.parse(await gatewayCli('test-connectivity', '--json', '--config', gateway.configFile)) as { steps: Array<{ name: string; status: string; detail: string }> };
    const step = (name: string) => report.steps.find((s) => s.name === name);
    assert.equal(step('HL7 endpoint')?.status, 'pass', JSON.stringify(report.steps));
    assert.match(String(step('HL7 endpoint')?.detail), /answered/);
    assert.equal(step('HL7 EMR (MLLP)')?.status, 'pass');
    cloud.settings.token = 'another-token';
    try {
      const refused = JSON.parse(await gatewayCli('test-connectivity', '--json', '--config', gateway.configFile)) as typeof report;
      const failed = refused.steps.find((s) => s.name === 'HL7 endpoint');
      assert.equal(failed?.status, 'fail');
      assert.match(String(failed?.detail), /HTTP 401.*check hl7.token/);
      assert.ok(!JSON.stringify(refused).includes('hl7-token'), 'the token is never shown');
    } finally {
      cloud.settings.token = 'hl7-token';
    }
  });

  test('a report that is not HL7 is kept as failed with the reason, not delivered, not confirmed', async () => {
    const id = cloud.addReport(Buffer.from('this is not an HL7 message'));
    await waitFor('unreadable report kept', async () => (await query(databaseUrl, 'SELECT 1 FROM hl7_reports WHERE cloud_id = $1', [id])).length === 1, 20_000);
    const [row] = await query(databaseUrl, 'SELECT state, last_error FROM hl7_reports WHERE cloud_id = $1', [id]);
    assert.equal(row.state, 'failed');
    assert.match(String(row.last_error), /cannot be read: the message does not begin with an MSH segment/);
    assert.ok(!cloud.confirmed.includes(id));
    assert.ok(!emr.received.some((r) => r.body.toString().includes('not an HL7')));
  });
});

describe('HL7 reports to an EMR over MLLP/TLS', () => {
  test('hl7.deliverTo.tls: the EMR certificate is verified against caFile and the report delivered', async () => {
    const pki = makeCloudPki(tempDir('hl7t-pki'));
    const cloud = await startHl7Endpoint({ pki });
    const emr = await startEmrStandIn('ack', { cert: fs.readFileSync(pki.serverCertFile), key: fs.readFileSync(pki.serverKeyFile) });
    const gateway = await startGateway({
      dataDir: tempDir('hl7t-gw'),
      database: await createTestDatabase(),
      config: {
        hl7: {
          port: await freePort(),
          bindAddress: '127.0.0.1',
          url: cloud.url,
          caFile: pki.caFile,
          pollSeconds: 2,
          deliverTo: { host: '127.0.0.1', port: emr.port, tls: { caFile: pki.caFile } },
        },
      },
    });
    try {
      const id = cloud.addReport(oruR01('ORU-TLS'));
      await waitFor('confirmed after the EMR ACKed over TLS', () => cloud.confirmed.includes(id), 20_000);
      assert.deepEqual(
        emr.received.map((r) => r.controlId),
        ['ORU-TLS'],
      );
    } finally {
      await gateway.stop();
      await emr.stop();
      await cloud.stop();
    }
  });
});
