// The HL7 v2 interface end to end, in a real agent process: orders from python3-hl7's mllp_send (the RIS), kept in
// PostgreSQL before AA, POSTed to the cloud simulator in order per facility; refusals with reasons; the cloud's
// failures retried or failed visibly; `gateway retry`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { frameMessage, MllpReader } from '../agent/hl7/mllp';
import { parseAck } from '../agent/hl7/message';
import { freePort } from '../agent/db/embedded-postgres';
import { startHl7Endpoint, type Hl7Endpoint } from './cloud-simulator/hl7-endpoint';
import { makeCloudPki, type CloudPki } from './cloud-simulator/pki';
import { createTestDatabase, query } from './helpers/database';
import { GATEWAY_BIN, startGateway, type GatewayProcess } from './helpers/gateway-process';
import { mllpSend } from './helpers/mllp-send';
import { tempDir } from './helpers/temp-dir';
import { waitFor } from './helpers/wait';
import { adtA08, ormO01 } from './fixtures/hl7-messages';

/** Sends raw bytes on one connection and collects the ACKs that come back within the wait. */
async function exchange(port: number, data: Buffer, waitMs = 1500): Promise<{ acks: ReturnType<typeof parseAck>[]; closed: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  const reader = new MllpReader(1 << 20);
  const acks: ReturnType<typeof parseAck>[] = [];
  let closed = false;
  socket.on('data', (chunk) => {
    for (const event of reader.push(chunk)) if (event.kind === 'message') acks.push(parseAck(event.data));
  });
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(data);
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  socket.destroy();
  return { acks, closed };
}

describe('HL7 v2 interface: messages from the RIS/EMR to the cloud', () => {
  let pki: CloudPki;
  let cloud: Hl7Endpoint;
  let gateway: GatewayProcess;
  let databaseUrl: string;
  let hl7Port: number;

  before(async () => {
    pki = makeCloudPki(tempDir('hl7-pki'));
    cloud = await startHl7Endpoint({ pki, token: 'upstream-token' });
    databaseUrl = await createTestDatabase();
    hl7Port = await freePort();
    gateway = await startGateway({
      dataDir: tempDir('hl7-gw'),
      database: databaseUrl,
      config: {
        // hl7 takes the CA and the token from upstream's keys.
        upstream: { kind: 'stow-rs', url: 'https://localhost:9/dicom-web', caFile: pki.caFile, token: 'upstream-token' },
        upload: { retryBaseSeconds: 1, retryMaxSeconds: 2 },
        hl7: { port: hl7Port, bindAddress: '127.0.0.1', url: cloud.url, maxMessageBytes: 8192, idleTimeoutSeconds: 3 },
      },
    });
  });
  after(async () => {
    await gateway.stop();
    await cloud.stop();
  });

  test('orders from mllp_send (ORM^O01 v2.3, ADT^A08 v2.5.1 in 8859/1) are ACKed AA, kept byte for byte, POSTed in order per facility', async () => {
    const messages = [ormO01('ORM-1', 'FAC_A'), adtA08('ADT-1', 'FAC_B'), ormO01('ORM-2', 'FAC_A'), adtA08('ADT-2', 'FAC_A'), ormO01('ORM-3', 'FAC_B')];
    const sent = await mllpSend(hl7Port, messages);
    assert.equal(sent.code, 0, sent.stderr);
    assert.deepEqual(
      sent.acks.map((ack) => parseAck(Buffer.from(ack, 'latin1'))).map((a) => `${a.code} ${a.acknowledgedControlId}`),
      ['AA ORM-1', 'AA ADT-1', 'AA ORM-2', 'AA ADT-2', 'AA ORM-3'],
    );
    // MSH-3/4 of the ACK are the message's MSH-5/6 and the reverse.
    assert.match(sent.acks[1], /^MSH\|\^~\\&\|CLOUD_READ\|CLOUD\|SYNTH_EMR\|FAC_B\|/);
    const rows = await query(databaseUrl, 'SELECT control_id, sending_facility, message_type, character_set, body FROM hl7_messages ORDER BY id');
    assert.deepEqual(
      rows.map((r) => [r.control_id, r.sending_facility, r.message_type, r.character_set]),
      [
        ['ORM-1', 'FAC_A', 'ORM^O01', null],
        ['ADT-1', 'FAC_B', 'ADT^A08', '8859/1'],
        ['ORM-2', 'FAC_A', 'ORM^O01', null],
        ['ADT-2', 'FAC_A', 'ADT^A08', '8859/1'],
        ['ORM-3', 'FAC_B', 'ORM^O01', null],
      ],
    );
    // mllp_send strips the last segment's CR before it frames a message: that is what was sent.
    const asSent = messages.map((m) => m.subarray(0, -1));
    rows.forEach((r, i) => assert.ok((r.body as Buffer).equals(asSent[i]), `message ${i} kept as received`));

    await waitFor('all five delivered to the cloud', () => cloud.kept().length === 5, 20_000);
    const kept = cloud.kept();
    const order = (facility: string) => kept.filter((p) => p.body.toString('latin1').includes(`|${facility}|CLOUD_READ`)).map((p) => p.controlId);
    assert.deepEqual(order('FAC_A'), ['ORM-1', 'ORM-2', 'ADT-2']);
    assert.deepEqual(order('FAC_B'), ['ADT-1', 'ORM-3']);
    for (const post of kept) {
      const original = asSent.find((m) => m.toString('latin1').includes(`|${post.controlId}|`))!;
      assert.ok(post.body.equals(original), `${post.controlId} forwarded byte for byte`);
      assert.equal(post.authorization, 'Bearer upstream-token');
    }
    assert.equal(kept.find((p) => p.controlId === 'ADT-1')!.contentType, 'x-application/hl7-v2+er7; charset=ISO-8859-1');
    assert.equal(kept.find((p) => p.controlId === 'ORM-1')!.contentType, 'x-application/hl7-v2+er7; charset=US-ASCII');
    await waitFor('rows done', async () => (await query(databaseUrl, "SELECT count(*)::int AS n FROM hl7_messages WHERE state = 'done'"))[0].n === 5);
    const info = gateway.logLines().filter((l) => l.level === 'info' && /HL7 message/.test(String(l.message)));
    assert.ok(info.length >= 10);
    assert.ok(!gateway.output().includes('TESTPATIENT') && !gateway.output().includes('SYN000'), 'no patient values in the log');
  });

  test('what cannot be relayed is answered AR/AE with the reason in ERR; bad framing is discarded and the next message is still taken', async () => {
    const noMsh = await exchange(hl7Port, frameMessage(Buffer.from('PID|1||X\r')));
    assert.equal(noMsh.acks[0].code, 'AR');
    assert.match(noMsh.acks[0].text, /does not begin with an MSH segment/);
    const badVersion = await exchange(hl7Port, frameMessage(Buffer.from('MSH|^~\\&|A|B|C|D|20260101||ORM^O01|V3|P|3.0\r')));
    assert.deepEqual([badVersion.acks[0].code, badVersion.acks[0].acknowledgedControlId], ['AR', 'V3']);
    assert.match(badVersion.acks[0].text, /203.*version/);
    const tooLarge = await exchange(hl7Port, frameMessage(Buffer.concat([ormO01('HUGE'), Buffer.alloc(20_000, 0x41)])));
    assert.deepEqual([tooLarge.acks[0].code, tooLarge.acks[0].acknowledgedControlId], ['AR', 'HUGE']);
    assert.match(tooLarge.acks[0].text, /larger than hl7.maxMessageBytes/);
    const afterJunk = await exchange(hl7Port, Buffer.concat([Buffer.from('GET / HTTP/1.0\r\n\r\n'), frameMessage(ormO01('AFTER-JUNK'))]));
    assert.deepEqual(
      afterJunk.acks.map((a) => `${a.code} ${a.acknowledgedControlId}`),
      ['AA AFTER-JUNK'],
    );
    await gateway.waitForLog(/HL7 bad MLLP framing/);
    const kept = await query(databaseUrl, "SELECT control_id FROM hl7_messages WHERE control_id IN ('V3', 'HUGE', 'AFTER-JUNK')");
    assert.deepEqual(
      kept.map((r) => r.control_id),
      ['AFTER-JUNK'],
    );
  });

  test('an idle connection is closed after hl7.idleTimeoutSeconds', async () => {
    const idle = await exchange(hl7Port, Buffer.alloc(0), 4500);
    assert.ok(idle.closed);
  });

  test('a transient failure of the cloud is retried; a permanent refusal fails visibly, holds no one up, and `gateway retry --all` sends it again', async () => {
    cloud.settings.postStatus = 503;
    cloud.settings.refuseControlIds = new Map([['BAD-1', 422]]);
    const sent = await mllpSend(hl7Port, [ormO01('T-1', 'FAC_C'), ormO01('BAD-1', 'FAC_D'), ormO01('T-2', 'FAC_D')]);
    assert.equal(sent.acks.length, 3);
    await waitFor('T-1 tried more than once', () => cloud.posts.filter((p) => p.controlId === 'T-1').length >= 2, 20_000);
    const waiting = await query(databaseUrl, "SELECT state, attempts, last_error FROM hl7_messages WHERE control_id = 'T-1'");
    assert.equal(waiting[0].state, 'queued');
    assert.match(String(waiting[0].last_error), /HTTP 503/);
    await waitFor('BAD-1 failed', async () => (await query(databaseUrl, "SELECT state FROM hl7_messages WHERE control_id = 'BAD-1'"))[0].state === 'failed', 20_000);
    cloud.settings.postStatus = undefined;
    await waitFor('T-1 and T-2 delivered', () => ['T-1', 'T-2'].every((id) => cloud.kept().some((p) => p.controlId === id)), 20_000);
    const failed = await query(databaseUrl, "SELECT state, last_error FROM hl7_messages WHERE control_id = 'BAD-1'");
    assert.match(String(failed[0].last_error), /HTTP 422/);

    cloud.settings.refuseControlIds = undefined;
    const retry = spawnSync(process.execPath, [GATEWAY_BIN, 'retry', '--all', '--config', gateway.configFile], { encoding: 'utf8' });
    assert.equal(retry.status, 0, retry.stderr);
    assert.match(retry.stdout, /1 failed HL7 message and report queued again/);
    await waitFor('BAD-1 delivered after retry', () => cloud.kept().some((p) => p.controlId === 'BAD-1'), 20_000);
  });
});

describe('HL7 v2 listener: who may connect', () => {
  test('a source address off hl7.allowedSourceAddresses is refused at accept', async () => {
    const pki = makeCloudPki(tempDir('hl7-pki2'));
    const cloud = await startHl7Endpoint({ pki });
    const hl7Port = await freePort();
    const gateway = await startGateway({
      dataDir: tempDir('hl7-allow'),
      database: await createTestDatabase(),
      config: { hl7: { port: hl7Port, bindAddress: '127.0.0.1', url: cloud.url, caFile: pki.caFile, allowedSourceAddresses: ['10.0.0.0/8'] } },
    });
    try {
      const refused = await exchange(hl7Port, frameMessage(ormO01('NOPE')), 800);
      assert.deepEqual(refused.acks, []);
      assert.ok(refused.closed);
      await gateway.waitForLog(/not on hl7.allowedSourceAddresses/);
    } finally {
      await gateway.stop();
      await cloud.stop();
    }
  });
});

describe('HL7 v2 listener: MLLP over TLS (hl7.tls)', () => {
  test('a sender with a client certificate the CA signed gets AA; one without is refused at the handshake', async () => {
    const pki = makeCloudPki(tempDir('hl7-tls-pki'));
    const cloud = await startHl7Endpoint({ pki });
    const hl7Port = await freePort();
    const gateway = await startGateway({
      dataDir: tempDir('hl7-tls'),
      database: await createTestDatabase(),
      config: {
        hl7: {
          port: hl7Port,
          bindAddress: '127.0.0.1',
          url: cloud.url,
          caFile: pki.caFile,
          tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caFile, requireClientCertificate: true },
        },
      },
    });
    const sendOverTls = (withCertificate: boolean) =>
      new Promise<{ acks: ReturnType<typeof parseAck>[]; error?: string }>((resolve) => {
        const socket = tls.connect({
          host: '127.0.0.1',
          port: hl7Port,
          servername: 'localhost',
          ca: fs.readFileSync(pki.caFile),
          ...(withCertificate ? { cert: fs.readFileSync(pki.clientCertFile), key: fs.readFileSync(pki.clientKeyFile) } : {}),
        });
        const reader = new MllpReader(1 << 20);
        const acks: ReturnType<typeof parseAck>[] = [];
        socket.on('secureConnect', () => socket.write(frameMessage(ormO01('TLS-1'))));
        socket.on('data', (chunk) => {
          for (const event of reader.push(chunk)) if (event.kind === 'message') acks.push(parseAck(event.data));
          if (acks.length > 0) socket.end();
        });
        socket.on('error', (err) => resolve({ acks, error: err.message }));
        socket.on('close', () => resolve({ acks }));
      });
    try {
      const good = await sendOverTls(true);
      assert.deepEqual(
        good.acks.map((a) => `${a.code} ${a.acknowledgedControlId}`),
        ['AA TLS-1'],
      );
      await waitFor('delivered over HTTPS', () => cloud.kept().some((p) => p.controlId === 'TLS-1'), 20_000);
      const refused = await sendOverTls(false);
      assert.deepEqual(refused.acks, []);
      assert.match(String(refused.error), /certificate required|alert|socket hang up|ECONNRESET/i);
    } finally {
      await gateway.stop();
      await cloud.stop();
    }
  });
});
