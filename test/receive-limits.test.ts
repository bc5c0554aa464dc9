// Who may associate, and how many at once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase } from './helpers/database';
import { runDcmtk } from './helpers/dcmtk';
import { startGateway, type GatewayProcess } from './helpers/gateway-process';
import { connectRaw, verificationRequest } from './helpers/raw-association';
import { tempDir } from './helpers/temp-dir';

const A_ASSOCIATE_AC = 0x02;
const A_ASSOCIATE_RJ = 0x03;

describe('calling AE title and source address allow-lists', () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGateway({
      dataDir: tempDir('allow'),
      database: await createTestDatabase(),
      aeTitle: 'ALLOWGW',
      config: { allowedCallingAeTitles: ['CT_SCANNER'], allowedSourceAddresses: ['127.0.0.0/8'] },
    });
  });
  after(() => gateway.stop());

  test('a calling AE title on the list is accepted (exactly, case-sensitive)', async () => {
    const ok = await runDcmtk('echoscu', ['-aet', 'CT_SCANNER', '-aec', 'ALLOWGW', '127.0.0.1', String(gateway.port)]);
    assert.equal(ok.code, 0, ok.stderr);
    const lower = await runDcmtk('echoscu', ['-aet', 'ct_scanner', '-aec', 'ALLOWGW', '127.0.0.1', String(gateway.port)]);
    assert.notEqual(lower.code, 0);
    assert.match(lower.stderr, /Calling AE Title Not Recognized/);
  });

  test('a calling AE title off the list is rejected as not recognized', async () => {
    const result = await runDcmtk('echoscu', ['-aet', 'INTRUDER', '-aec', 'ALLOWGW', '127.0.0.1', String(gateway.port)]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Rejected Permanent/);
    assert.match(result.stderr, /Calling AE Title Not Recognized/);
  });
});

describe('source address allow-list, at TCP accept', () => {
  test('a source address off the list is closed at once, before any PDU, and logged once a minute', async () => {
    const gateway = await startGateway({ dataDir: tempDir('allow-ip'), database: await createTestDatabase(), aeTitle: 'IPGW', config: { allowedSourceAddresses: ['10.1.2.0/24'] } });
    try {
      for (let i = 0; i < 5; i++) {
        const connection = await connectRaw(gateway.port);
        connection.socket.write(verificationRequest('IPGW'));
        assert.ok((await connection.closed()) < 1000, 'closed at once');
        assert.equal(connection.received().length, 0, 'not a byte answered');
      }
      const result = await runDcmtk('echoscu', ['-aec', 'IPGW', '127.0.0.1', String(gateway.port)]);
      assert.notEqual(result.code, 0);
      await gateway.waitForLog(/source address 127\.0\.0\.1 is not on allowedSourceAddresses/);
      const refusals = gateway.logLines().filter((line) => String(line.message).startsWith('connection refused at accept'));
      assert.equal(refusals.length, 1, 'six refusals, one log line');
      assert.equal(refusals[0].peerAddress, '127.0.0.1');
      assert.equal(gateway.logLines().filter((line) => line.message === 'association ended').length, 0);
    } finally {
      await gateway.stop();
    }
  });
});

describe('connections per source address and the first PDU deadline', () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGateway({
      dataDir: tempDir('per-address'),
      database: await createTestDatabase(),
      aeTitle: 'PERADDRGW',
      config: { limits: { maxAssociations: 10, maxAssociationsPerAddress: 2, firstPduTimeoutSeconds: 2, minFreeDiskMb: 64 } },
    });
  });
  after(() => gateway.stop());

  test('one address holds at most limits.maxAssociationsPerAddress connections; more are closed at once', async () => {
    const idle = [await connectRaw(gateway.port), await connectRaw(gateway.port)];
    for (const connection of idle) {
      connection.socket.write(verificationRequest('PERADDRGW'));
      assert.equal((await connection.firstPdu()).type, A_ASSOCIATE_AC);
    }
    const third = await connectRaw(gateway.port);
    assert.ok((await third.closed()) < 1000, 'third connection closed at once');
    assert.equal(third.received().length, 0);
    const refused = await runDcmtk('echoscu', ['-aec', 'PERADDRGW', '127.0.0.1', String(gateway.port)]);
    assert.notEqual(refused.code, 0);
    await gateway.waitForLog(/already has 2 connections open \(limits\.maxAssociationsPerAddress\)/);

    idle[0].socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const echo = await runDcmtk('echoscu', ['-aec', 'PERADDRGW', '127.0.0.1', String(gateway.port)]);
    assert.equal(echo.code, 0, echo.stderr);
    idle[1].socket.destroy();
  });

  test('a connection that sends no association request within limits.firstPduTimeoutSeconds is closed', async () => {
    // From another address: the connections the test before closed may not be counted out yet.
    const silent = await connectRaw(gateway.port, '127.0.0.2');
    const partial = await connectRaw(gateway.port, '127.0.0.2');
    partial.socket.write(verificationRequest('PERADDRGW').subarray(0, 20));
    const [silentMs, partialMs] = await Promise.all([silent.closed(), partial.closed()]);
    for (const ms of [silentMs, partialMs]) assert.ok(ms >= 1500 && ms < 5000, `closed after ${ms} ms, the limit being 2 s`);
    await gateway.waitForLog(/no association request within 2000 ms/);
    const echo = await runDcmtk('echoscu', ['-aec', 'PERADDRGW', '127.0.0.1', String(gateway.port)]);
    assert.equal(echo.code, 0, echo.stderr);
  });
});

describe('concurrent association limit', () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGateway({ dataDir: tempDir('limit'), database: await createTestDatabase(), aeTitle: 'LIMITGW', config: { limits: { maxAssociations: 2, minFreeDiskMb: 64 } } });
  });
  after(() => gateway.stop());

  test('over the limit an association is rejected transiently (local limit exceeded), and accepted again once one ends', async () => {
    const open = [await connectRaw(gateway.port), await connectRaw(gateway.port)];
    for (const connection of open) {
      connection.socket.write(verificationRequest('LIMITGW'));
      assert.equal((await connection.firstPdu()).type, A_ASSOCIATE_AC);
    }
    const third = await connectRaw(gateway.port);
    third.socket.write(verificationRequest('LIMITGW'));
    assert.deepEqual(await third.firstPdu(), { type: A_ASSOCIATE_RJ, result: 2, source: 3, reason: 2 });
    const echo = await runDcmtk('echoscu', ['-aec', 'LIMITGW', '127.0.0.1', String(gateway.port)]);
    assert.match(echo.stderr, /Rejected Transient/);
    assert.match(echo.stderr, /Local Limit Exceeded/);

    open[0].socket.destroy();
    await gateway.waitForLog(/"outcome":"closed"/);
    const again = await runDcmtk('echoscu', ['-aec', 'LIMITGW', '127.0.0.1', String(gateway.port)]);
    assert.equal(again.code, 0, again.stderr);
    open[1].socket.destroy();
    third.socket.destroy();
  });
});
