// Paths read from the database are checked against the spool's own naming before a file is opened or deleted: an
// edited row (the database's password is a file on the PC) cannot make the agent upload or remove any other file.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { compressedRelativePath } from '../agent/compress/compressed-file';
import { spoolRelativePath, storedFilePath } from '../agent/spool/spool-path';
import { makeCloudPki } from './cloud-simulator/pki';
import { startStowRsSimulator } from './cloud-simulator/stow-rs-server';
import { createTestDatabase, query } from './helpers/database';
import { runDcmtk } from './helpers/dcmtk';
import { launchGateway, startGateway } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';
import { waitFor } from './helpers/wait';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';

describe('paths from the database', () => {
  test('the names the gateway gives are accepted; anything else is refused', () => {
    const hash = Buffer.alloc(32, 0xab);
    for (const [kind, relative] of [
      ['spool', spoolRelativePath('1.2.840.1', '1.2.840.1.2', hash)],
      ['spool', spoolRelativePath('a/../../b', '..\\..\\x', hash)],
      ['compressed', compressedRelativePath('1.2.840.1.2', hash)],
    ] as const) {
      assert.equal(storedFilePath('/data/spool', kind, relative), path.join('/data/spool', ...relative.split('/')));
    }
    for (const relative of [
      '../../etc/passwd',
      '1.2/../../../x_abababababababab.dcm',
      '/etc/shadow',
      '1.2\\..\\..\\x_abababababababab.dcm',
      'C:/Windows/x_abababababababab.dcm',
      '1.2/3.4_abababababababab.dcm/..',
      '',
    ]) {
      assert.throws(() => storedFilePath('/data/spool', 'spool', relative), /not a name the gateway gives/, relative);
    }
  });

  test('an upload whose row names a file outside the spool fails visibly; the file is neither sent nor touched', async () => {
    const databaseUrl = await createTestDatabase();
    const dataDir = tempDir('stored-paths');
    const series = writeSyntheticCtSeries(tempDir('stored-paths-ct'), { slices: 1, rows: 32, columns: 32 });
    let gateway = await startGateway({ dataDir, database: databaseUrl, aeTitle: 'PATHGW' });
    assert.equal((await runDcmtk('storescu', ['-aec', 'PATHGW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
    assert.equal(await gateway.stop(), 0);

    // The kept file moves out of the spool, and its row is edited to follow it there.
    const [kept] = await query<{ spool_path: string }>(databaseUrl, 'SELECT spool_path FROM instances');
    const outside = path.join(tempDir('stored-paths-outside'), 'secret_abababababababab.dcm');
    fs.renameSync(path.join(dataDir, 'spool', ...kept.spool_path.split('/')), outside);
    const original = fs.readFileSync(outside);
    const traversal = path.relative(path.join(dataDir, 'spool'), outside).split(path.sep).join('/');
    await query(databaseUrl, 'ALTER TABLE instances DISABLE TRIGGER USER');
    await query(databaseUrl, 'UPDATE instances SET spool_path = $1', [traversal]);
    await query(databaseUrl, 'ALTER TABLE instances ENABLE TRIGGER USER');

    const pki = makeCloudPki(tempDir('stored-paths-pki'));
    const cloud = await startStowRsSimulator({ pki, storeDir: tempDir('stored-paths-cloud'), token: 't' });
    fs.writeFileSync(
      gateway.configFile,
      JSON.stringify({ ...JSON.parse(fs.readFileSync(gateway.configFile, 'utf8')), upstream: { kind: 'stow-rs', url: cloud.url, caFile: pki.caFile, token: 't' }, compression: { enabled: false } }),
    );
    gateway = await launchGateway(gateway.configFile, gateway.port, gateway.aeTitle, dataDir);
    try {
      await waitFor('the upload failed', async () => (await query(databaseUrl, "SELECT 1 FROM uploads WHERE state = 'failed'")).length === 1, 30000);
      const [row] = await query<{ last_error: string }>(databaseUrl, 'SELECT last_error FROM uploads');
      assert.match(row.last_error, /not a name the gateway gives: refused/);
      assert.equal(cloud.requests.length, 0, 'nothing was sent');
      assert.ok(fs.readFileSync(outside).equals(original), 'the file outside is untouched');
    } finally {
      await gateway.stop();
      await cloud.stop();
    }
  });
});
