// kill -9 of the agent at random moments while the RIS sends orders and the cloud's reports go to the EMR: every
// message that got AA is kept and reaches the cloud; every report reaches the EMR, and the cloud is told of a report
// only after the EMR's AA.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { freePort } from '../agent/db/embedded-postgres';
import { parseAck } from '../agent/hl7/message';
import { startHl7Endpoint } from './cloud-simulator/hl7-endpoint';
import { makeCloudPki } from './cloud-simulator/pki';
import { createTestDatabase, query } from './helpers/database';
import { startEmrStandIn } from './helpers/emr-mllp';
import { launchGateway, startGateway } from './helpers/gateway-process';
import { mllpSend } from './helpers/mllp-send';
import { tempDir } from './helpers/temp-dir';
import { waitFor } from './helpers/wait';
import { ormO01, oruR01 } from './fixtures/hl7-messages';

test('kill -9 at random moments loses no acknowledged order and no report', async (t) => {
  const pki = makeCloudPki(tempDir('hl7c-pki'));
  const cloud = await startHl7Endpoint({ pki });
  const emr = await startEmrStandIn('ack');
  const databaseUrl = await createTestDatabase();
  let gateway = await startGateway({
    dataDir: tempDir('hl7c-gw'),
    database: databaseUrl,
    config: {
      upload: { retryBaseSeconds: 1, retryMaxSeconds: 2, leaseSeconds: 10 },
      hl7: { port: await freePort(), bindAddress: '127.0.0.1', url: cloud.url, caFile: pki.caFile, pollSeconds: 1, deliverTo: { host: '127.0.0.1', port: emr.port, ackTimeoutSeconds: 2 } },
    },
  });
  const hl7Port = (JSON.parse(fs.readFileSync(gateway.configFile, 'utf8')) as { hl7: { port: number } }).hl7.port;
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100000);
  let random = seed;
  const nextDelay = () => {
    random = (random * 16807) % 2147483647;
    return 300 + (random % 1500);
  };
  const acknowledged: string[] = [];
  const reportIds: string[] = [];
  try {
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 10; i++) reportIds.push(cloud.addReport(oruR01(`REP-${round}-${i}`)));
      const messages = Array.from({ length: 400 }, (_, i) => ormO01(`ORD-${round}-${i}`, `FAC_${i % 3}`));
      const delay = nextDelay();
      const sending = mllpSend(hl7Port, messages);
      await new Promise((resolve) => setTimeout(resolve, delay));
      await gateway.kill();
      const sent = await sending;
      const acks = sent.acks.map((a) => parseAck(Buffer.from(a, 'latin1'))).filter((a) => a.code === 'AA');
      acknowledged.push(...acks.map((a) => a.acknowledgedControlId));
      t.diagnostic(`round ${round}: seed ${seed}, killed after ${delay} ms, ${acks.length} of 400 acknowledged, ${cloud.confirmed.length} reports confirmed so far`);
      gateway = await launchGateway(gateway.configFile, gateway.port, gateway.aeTitle, gateway.dataDir);
      const kept = new Set((await query(databaseUrl, 'SELECT control_id FROM hl7_messages')).map((r) => String(r.control_id)));
      for (const id of acknowledged) assert.ok(kept.has(id), `round ${round} (seed ${seed}): acknowledged ${id} is kept`);
    }
    await waitFor(
      'every acknowledged order delivered to the cloud',
      () => {
        const delivered = new Set(cloud.kept().map((p) => p.controlId));
        return acknowledged.every((id) => delivered.has(id));
      },
      60_000,
    );
    await waitFor('every report confirmed to the cloud', () => reportIds.every((id) => cloud.confirmed.includes(id)), 60_000);
    const acked = new Set(emr.received.filter((r) => r.answer === 'AA').map((r) => r.controlId));
    for (let round = 0; round < 4; round++) for (let i = 0; i < 10; i++) assert.ok(acked.has(`REP-${round}-${i}`), `report ${round}-${i} reached the EMR`);
    // Per facility, the cloud got each facility's orders in the order they were acknowledged (first deliveries).
    const firstSeen: string[] = [];
    for (const post of cloud.kept()) if (!firstSeen.includes(post.controlId)) firstSeen.push(post.controlId);
    for (const facility of ['FAC_0', 'FAC_1', 'FAC_2']) {
      const mine = (ids: string[]) => ids.filter((id) => Number(id.split('-')[2]) % 3 === Number(facility.slice(4)));
      assert.deepEqual(mine(firstSeen.filter((id) => acknowledged.includes(id))), mine(acknowledged), `${facility} in order`);
    }
  } finally {
    await gateway.stop();
    await emr.stop();
    await cloud.stop();
  }
});
