// Bad input on the DICOM port never crashes the agent, never holds a connection for long, and the next
// association still works.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase } from './helpers/database';
import { runDcmtk } from './helpers/dcmtk';
import { startGateway, type GatewayProcess } from './helpers/gateway-process';
import { connectRaw, verificationRequest } from './helpers/raw-association';
import { tempDir } from './helpers/temp-dir';

describe('malformed input on the DICOM port', () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGateway({
      dataDir: tempDir('malformed'),
      database: await createTestDatabase(),
      aeTitle: 'TOUGHGW',
      config: { limits: { pduTimeoutSeconds: 2, idleTimeoutSeconds: 30, minFreeDiskMb: 64 } },
    });
  });
  after(() => gateway.stop());

  async function assertStillServing(): Promise<void> {
    assert.equal(gateway.child.exitCode, null, 'the agent is still running');
    const echo = await runDcmtk('echoscu', ['-aec', 'TOUGHGW', '127.0.0.1', String(gateway.port)]);
    assert.equal(echo.code, 0, `next association works: ${echo.stderr}`);
  }

  test('a truncated A-ASSOCIATE-RQ followed by a close', async () => {
    const connection = await connectRaw(gateway.port);
    connection.socket.end(verificationRequest('TOUGHGW').subarray(0, 20));
    await connection.closed();
    await assertStillServing();
  });

  test('an absurd PDU length (0xFFFFFFFF) is refused at once, not buffered', async () => {
    const connection = await connectRaw(gateway.port);
    const header = Buffer.from([0x01, 0x00, 0xff, 0xff, 0xff, 0xff]);
    connection.socket.write(Buffer.concat([header, crypto.randomBytes(65536)]));
    const ms = await connection.closed();
    assert.ok(ms < 3000, `closed after ${ms} ms`);
    await assertStillServing();
  });

  test('random bytes', async () => {
    const connection = await connectRaw(gateway.port);
    const junk = crypto.randomBytes(256 * 1024);
    junk[0] = 0x47; // 'G' as in "GET": not a PDU type
    connection.socket.write(junk);
    const ms = await connection.closed();
    assert.ok(ms < 3000, `closed after ${ms} ms`);
    await assertStillServing();
  });

  test('an HTTP request', async () => {
    const connection = await connectRaw(gateway.port);
    connection.socket.write('GET / HTTP/1.1\r\nHost: gateway\r\n\r\n');
    await connection.closed();
    await assertStillServing();
  });

  test('a TLS client on the plain port', async () => {
    await new Promise<void>((resolve) => {
      const socket = tls.connect({ port: gateway.port, host: '127.0.0.1', rejectUnauthorized: false });
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
    });
    await assertStillServing();
  });

  test('a slow sender that stops in the middle of the association request is cut off after the PDU timeout', async () => {
    const connection = await connectRaw(gateway.port);
    connection.socket.write(verificationRequest('TOUGHGW').subarray(0, 40));
    const ms = await connection.closed();
    assert.ok(ms >= 1000 && ms < 6000, `closed after ${ms} ms (pduTimeoutSeconds 2)`);
    await assertStillServing();
  });

  test('a sender that stops in the middle of a P-DATA PDU after association is aborted after the PDU timeout', async () => {
    const connection = await connectRaw(gateway.port);
    connection.socket.write(verificationRequest('TOUGHGW'));
    assert.equal((await connection.firstPdu()).type, 0x02);
    const partial = Buffer.alloc(16);
    partial[0] = 0x04;
    partial.writeUInt32BE(10000, 2);
    connection.socket.write(partial);
    const ms = await connection.closed();
    assert.ok(ms < 6000, `closed after ${ms} ms`);
    assert.ok(connection.received().includes(Buffer.from([0x07, 0x00, 0x00, 0x00, 0x00, 0x04])), 'an A-ABORT was sent');
    await assertStillServing();
  });

  test('a P-DATA PDU over the announced maximum length is refused', async () => {
    const connection = await connectRaw(gateway.port);
    connection.socket.write(verificationRequest('TOUGHGW'));
    assert.equal((await connection.firstPdu()).type, 0x02);
    const big = Buffer.alloc(6);
    big[0] = 0x04;
    big.writeUInt32BE(64 * 1024 * 1024, 2);
    connection.socket.write(big);
    const ms = await connection.closed();
    assert.ok(ms < 3000, `closed after ${ms} ms`);
    await assertStillServing();
  });
});
