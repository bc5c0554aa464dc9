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

describe('source address allow-list', () => {
  test('a source address off the list is rejected', async () => {
    const gateway = await startGateway({ dataDir: tempDir('allow-ip'), database: await createTestDatabase(), aeTitle: 'IPGW', config: { allowedSourceAddresses: ['10.1.2.0/24'] } });
    try {
      const result = await runDcmtk('echoscu', ['-aec', 'IPGW', '127.0.0.1', String(gateway.port)]);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /Rejected Permanent/);
      await gateway.waitForLog(/source address 127\.0\.0\.1 is not on the allow-list/);
    } finally {
      await gateway.stop();
    }
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
