// kill -9 of the agent at random moments during a push: whatever storescu saw acknowledged must be on disk,
// intact and indexed after the restart, and nothing partial may be indexed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createTestDatabase, query } from './helpers/database';
import { datasetBytes } from './helpers/dcmtk';
import { launchGateway, startGateway, type GatewayProcess } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';

/** Runs storescu -v and counts the C-STORE responses with status Success, in the order of the files. */
function pushUntilKilled(gateway: GatewayProcess, files: string[], killAfterMs?: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('storescu', ['-v', '-aec', gateway.aeTitle, '127.0.0.1', String(gateway.port), ...files], { env: { ...process.env, TCP_NODELAY: '1' } });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => void gateway.kill(), killAfterMs);
    child.on('close', () => {
      clearTimeout(timer);
      const responses = output.match(/Received Store Response \(([^)]*)\)/g) ?? [];
      // A response that is not Success ends the acknowledged prefix (storescu moves on, but those were not kept).
      const acknowledged = responses.findIndex((r) => !r.includes('Success'));
      resolve(acknowledged === -1 ? responses.length : acknowledged);
    });
  });
}

/** Every row must name a file whose dataset bytes hash to the row's hash; nothing may wait in .incoming. */
async function assertSpoolConsistent(gateway: GatewayProcess, databaseUrl: string): Promise<Map<string, Buffer>> {
  const rows = await query(databaseUrl, 'SELECT sop_instance_uid, spool_path, dataset_sha256 FROM instances');
  const bySop = new Map<string, Buffer>();
  for (const row of rows) {
    const file = path.join(gateway.dataDir, 'spool', ...String(row.spool_path).split('/'));
    assert.ok(fs.existsSync(file), `indexed instance ${row.sop_instance_uid} has its file`);
    const dataset = datasetBytes(file);
    assert.ok(crypto.createHash('sha256').update(dataset).digest().equals(row.dataset_sha256), `file of ${row.sop_instance_uid} is complete and matches its row`);
    bySop.set(String(row.sop_instance_uid), dataset);
  }
  assert.deepEqual(fs.readdirSync(path.join(gateway.dataDir, 'spool', '.incoming')), [], 'no partial files left');
  return bySop;
}

test('kill -9 at random moments during a 200-instance push loses nothing acknowledged', async (t) => {
  const databaseUrl = await createTestDatabase();
  const series = writeSyntheticCtSeries(tempDir('crash-ct'), { slices: 200, seed: 11 });
  let gateway = await startGateway({ dataDir: tempDir('crash'), database: databaseUrl, aeTitle: 'CRASHGW' });
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100000);
  let random = seed;
  const nextDelay = () => {
    random = (random * 16807) % 2147483647;
    return 100 + (random % 1400);
  };
  try {
    for (let round = 0; round < 4; round++) {
      const delay = nextDelay();
      const acknowledged = await pushUntilKilled(gateway, series.files, delay);
      await gateway.kill();
      t.diagnostic(`round ${round}: seed ${seed}, killed after ${delay} ms, ${acknowledged} of 200 acknowledged`);
      gateway = await launchGateway(gateway.configFile, gateway.port, gateway.aeTitle, gateway.dataDir);
      const kept = await assertSpoolConsistent(gateway, databaseUrl);
      for (let i = 0; i < acknowledged; i++) {
        const uid = series.sopInstanceUids[i];
        assert.ok(kept.has(uid), `round ${round} (seed ${seed}, kill after ${delay} ms): acknowledged instance ${i} is kept`);
        assert.ok(kept.get(uid)!.equals(datasetBytes(series.files[i])), `instance ${i} intact`);
      }
    }
    // After the crashes, a full push completes and everything is there exactly once.
    const last = await pushUntilKilled(gateway, series.files);
    assert.equal(last, 200);
    const kept = await assertSpoolConsistent(gateway, databaseUrl);
    assert.equal(kept.size, 200);
  } finally {
    await gateway.stop();
  }
});
