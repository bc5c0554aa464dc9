// Compression never starves receiving: while a modality sends, the compression workers beyond what the cores
// spare wait (on 2 cores all of them), and catch up once it pauses.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { workersWhileReceiving } from '../agent/compress/compressor';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';
import { createTestDatabase, query } from './helpers/database';
import { runDcmtk } from './helpers/dcmtk';
import { startGateway } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';
import { waitFor } from './helpers/wait';

describe('compression yields to receiving', () => {
  test('workers that may run while receiving: only the cores beyond two', () => {
    assert.equal(workersWhileReceiving(2, 2), 0);
    assert.equal(workersWhileReceiving(2, 4), 2);
    assert.equal(workersWhileReceiving(4, 3), 1);
  });

  test('on a 2-core PC no instance is compressed while a series arrives; all are compressed once the modality pauses', async () => {
    const databaseUrl = await createTestDatabase();
    // The agent on two CPUs whatever the test machine has: the PC this is about.
    const gateway = await startGateway({ dataDir: tempDir('yield-gw'), database: databaseUrl, aeTitle: 'YIELDGW', config: { compression: { workers: 2 } }, cpus: 2 });
    try {
      const series = writeSyntheticCtSeries(tempDir('yield-ct'), { slices: 40, rows: 256, columns: 256 });
      assert.equal((await runDcmtk('storescu', ['-aec', 'YIELDGW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
      const [{ during }] = await query(databaseUrl, `SELECT count(*)::int AS during FROM compressions WHERE decided_at IS NOT NULL AND decided_at < (SELECT max(received_at) FROM instances)`);
      // Without yielding, two workers keep up with this series and nearly all 40 are decided while it arrives; a few
      // may be when the loaded test machine stalls the sender past the 1 s quiet window.
      assert.ok(during <= 8, `${during} of 40 compressions decided while the series arrived`);
      await waitFor(
        'every instance compressed after the modality paused',
        async () => (await query(databaseUrl, "SELECT count(*)::int AS n FROM compressions WHERE state = 'compressed'"))[0].n === 40,
        30000,
      );
    } finally {
      await gateway.stop();
    }
  });
});
