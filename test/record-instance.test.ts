// record_instance() under concurrency: instances of one study, recorded in transactions open at once, do not queue
// on the study's or series' row; several instances recorded in one statement.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { migrate } from '../agent/db/migrate';
import { consoleLogger } from '../agent/logging';
import { recordInstance, recordInstances, type InstanceRecord } from '../agent/studies/record-instance';
import { ctInstanceRecord } from './fixtures/instance-record';
import { createTestDatabase, query } from './helpers/database';

const instance = (sop: string) => ctInstanceRecord(sop);

/** Whether `work` took longer than `ms` to settle (it waited on a lock another open transaction holds). */
function waitedLonger(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms)));
  return Promise.race([work.then(() => false), late]).finally(() => clearTimeout(timer));
}

/** record_instance() in a transaction left open, as a concurrent statement holds it until its commit. */
async function openTransaction(pool: pg.Pool, record: InstanceRecord): Promise<pg.PoolClient> {
  const client = await pool.connect();
  await client.query('BEGIN');
  await recordInstance(client, record);
  return client;
}

test('instances of one study written in concurrent open transactions do not wait for each other', async () => {
  const url = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  try {
    await migrate(pool, consoleLogger('warn'));
    await recordInstance(pool, instance('1.2.3.1.1'));
    const first = await openTransaction(pool, instance('1.2.3.1.2'));
    const opening = openTransaction(pool, instance('1.2.3.1.3'));
    if (await waitedLonger(opening, 3000)) {
      await first.query('ROLLBACK');
      first.release();
      (await opening).release(true);
      assert.fail("the second instance of the study waited for the first one's commit");
    }
    const second = await opening;
    await Promise.all([second.query('COMMIT'), first.query('COMMIT')]);
    first.release();
    second.release();
    const [{ count }] = await query<{ count: string }>(url, "SELECT count(*) FROM instances WHERE study_uid = '1.2.3'");
    assert.equal(Number(count), 3);
  } finally {
    await pool.end();
  }
});

test('several instances in one statement: each outcome in order, the same instance twice sees its first row', async () => {
  const url = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    await migrate(pool, consoleLogger('warn'));
    await recordInstance(pool, instance('1.2.3.1.1'));
    const corrected = { ...instance('1.2.3.1.1'), datasetSha256: crypto.createHash('sha256').update('v2').digest(), spoolPath: 's/1.2.3.1.1-v2.dcm' };
    const results = await recordInstances(pool, [instance('1.2.3.1.1'), instance('1.2.3.1.2'), corrected, instance('1.2.3.1.2')]);
    assert.deepEqual(
      results.map((r) => r.outcome),
      ['duplicate', 'new', 'corrected', 'duplicate'],
    );
    assert.equal(results[2].obsoletePath, 's/1.2.3.1.1.dcm');
    const rows = await query(url, 'SELECT sop_instance_uid, spool_path FROM instances ORDER BY 1');
    assert.deepEqual(rows, [
      { sop_instance_uid: '1.2.3.1.1', spool_path: 's/1.2.3.1.1-v2.dcm' },
      { sop_instance_uid: '1.2.3.1.2', spool_path: 's/1.2.3.1.2.dcm' },
    ]);
    await assert.rejects(recordInstances(pool, [instance('1.2.3.1.3'), { ...instance('1.2.3.1.4'), modality: 'C\0T' }]));
    assert.equal((await query(url, "SELECT 1 FROM instances WHERE sop_instance_uid = '1.2.3.1.3'")).length, 0, 'a refused statement commits nothing');
  } finally {
    await pool.end();
  }
});

test("a study's and a series' last received time still advance (at most once a second)", async () => {
  const url = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    await migrate(pool, consoleLogger('warn'));
    await recordInstance(pool, instance('1.2.3.1.1'));
    await query(url, "UPDATE studies SET last_received_at = now() - interval '1 hour'");
    await query(url, "UPDATE series SET last_received_at = now() - interval '1 hour'");
    await recordInstance(pool, instance('1.2.3.1.2'));
    const recent = "last_received_at > now() - interval '1 minute'";
    assert.equal((await query(url, `SELECT 1 FROM studies WHERE ${recent}`)).length, 1, 'study');
    assert.equal((await query(url, `SELECT 1 FROM series WHERE ${recent}`)).length, 1, 'series');
  } finally {
    await pool.end();
  }
});
