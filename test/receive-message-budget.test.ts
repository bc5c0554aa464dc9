// Byte budgets of DIMSE messages at the receiver (issue 13): a command set over 64 KiB or a dataset other than a
// C-STORE's over limits.maxMessageDatasetKb is an A-ABORT, before the bytes are held in memory; the peer's address
// and the reason are logged; the agent's memory stays where it was while the peer goes on sending; C-STORE datasets,
// streamed to disk, are not bounded by it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { CommandField, DataSetType, encodeCommand } from '../agent/dicom/command';
import { pDataPdu } from '../agent/dicom/pdu';
import { VERIFICATION_SOP_CLASS } from '../agent/dicom/uids';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';
import { createTestDatabase, query } from './helpers/database';
import { runDcmtk } from './helpers/dcmtk';
import { startGateway, type GatewayProcess } from './helpers/gateway-process';
import { connectRaw, verificationRequest, type RawConnection } from './helpers/raw-association';
import { tempDir } from './helpers/temp-dir';

const FRAGMENT = 16 * 1024;

function residentMb(pid: number): number {
  const line = fs
    .readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

async function associate(port: number, aeTitle: string): Promise<{ connection: RawConnection; acLength: number }> {
  const connection = await connectRaw(port);
  connection.socket.write(verificationRequest(aeTitle, 'HOSTILE'));
  assert.equal((await connection.firstPdu()).type, 0x02, 'A-ASSOCIATE-AC');
  return { connection, acLength: connection.received().length };
}

/** Writes PDUs made by `next` until `total` bytes went out or the gateway closed; waits for drain like a real sender. */
async function keepSending(connection: RawConnection, total: number, next: () => Buffer): Promise<number> {
  let sent = 0;
  while (sent < total && !connection.socket.destroyed && connection.socket.writable) {
    const pdu = next();
    sent += pdu.length;
    if (!connection.socket.write(pdu)) {
      await new Promise<void>((resolve) => {
        connection.socket.once('drain', resolve);
        connection.socket.once('close', resolve);
      });
    }
  }
  return sent;
}

function assertAbortedOnce(connection: RawConnection, acLength: number): void {
  const after = connection.received().subarray(acLength);
  assert.equal(after[0], 0x07, 'an A-ABORT, read by the peer although it was still sending');
  assert.equal(after.length, 10, 'one A-ABORT and nothing else');
}

describe('message byte budgets', () => {
  let gateway: GatewayProcess;
  let databaseUrl: string;
  before(async () => {
    databaseUrl = await createTestDatabase();
    gateway = await startGateway({ dataDir: tempDir('budget'), database: databaseUrl, aeTitle: 'BUDGETGW', config: { limits: { minFreeDiskMb: 64, maxMessageDatasetKb: 64 } } });
  });
  after(() => gateway.stop());

  test('a command that never ends: A-ABORT after 64 KiB, logged with the peer; 48 MB more sent cost the agent no memory', async () => {
    const before = residentMb(gateway.pid);
    const { connection, acLength } = await associate(gateway.port, 'BUDGETGW');
    const endless = pDataPdu(1, Buffer.alloc(FRAGMENT, 0x41), true, false);
    const sent = await keepSending(connection, 48 * 1024 * 1024, () => endless);
    await connection.closed();
    assertAbortedOnce(connection, acLength);
    await gateway.waitForLog(/"association ended".*command set over 65536 bytes/);
    const line = gateway.logLines().find((l) => l.message === 'association ended' && String(l.reason).includes('command set over'))!;
    assert.match(String(line.peer), /^127\.0\.0\.1:\d+$/, 'the peer address is logged');
    const grown = residentMb(gateway.pid) - before;
    assert.ok(grown < 24, `resident memory grew ${grown.toFixed(1)} MB after ${(sent / 1048576).toFixed(0)} MB of one command`);
  });

  test('a C-ECHO carrying a dataset over limits.maxMessageDatasetKb: A-ABORT, nothing answered', async () => {
    const { connection, acLength } = await associate(gateway.port, 'BUDGETGW');
    const command = encodeCommand({ AffectedSOPClassUID: VERIFICATION_SOP_CLASS, CommandField: CommandField.CEchoRq, MessageID: 1, CommandDataSetType: DataSetType.Present });
    connection.socket.write(pDataPdu(1, command, true, true));
    const part = pDataPdu(1, Buffer.alloc(FRAGMENT, 0x20), false, false);
    await keepSending(connection, 8 * 1024 * 1024, () => part);
    await connection.closed();
    assertAbortedOnce(connection, acLength);
    await gateway.waitForLog(/"association ended".*dataset of a message other than C-STORE over 65536 bytes/);
  });

  test('C-STORE datasets are streamed to disk, not bounded by it (300 KB instances), and C-ECHO is answered after the aborts', async () => {
    const series = writeSyntheticCtSeries(tempDir('budget-ct'), { slices: 3, rows: 384, columns: 384 });
    assert.ok(fs.statSync(series.files[0]).size > 256 * 1024);
    const store = await runDcmtk('storescu', ['-aec', 'BUDGETGW', '127.0.0.1', String(gateway.port), ...series.files]);
    assert.equal(store.code, 0, store.stderr);
    assert.equal((await query(databaseUrl, 'SELECT count(*)::int AS n FROM instances'))[0].n, 3);
    const echo = await runDcmtk('echoscu', ['-aec', 'BUDGETGW', '127.0.0.1', String(gateway.port)]);
    assert.equal(echo.code, 0, echo.stderr);
  });
});
