// record_instance() under concurrency: instances of one study, recorded by several associations at once, do not
// queue on the study's or series' row (each transaction stays open during its file's fsync).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { migrate } from '../agent/db/migrate';
import { consoleLogger } from '../agent/logging';
import { prepareInstanceRecord, recordInstance, type InstanceRecord } from '../agent/studies/record-instance';
import { createTestDatabase, query } from './helpers/database';

function instance(sop: string): InstanceRecord {
  return {
    sopInstanceUid: sop,
    seriesUid: '1.2.3.1',
    studyUid: '1.2.3',
    modality: 'CT',
    sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    spoolPath: `s/${sop}.dcm`,
    fileBytes: 1000,
    datasetSha256: crypto.createHash('sha256').update(sop).digest(),
    callingAe: 'TEST',
    associationId: undefined,
  };
}

/** Whether `work` took longer than `ms` to settle (it waited on a lock another open transaction holds). */
function waitedLonger(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms)));
  return Promise.race([work.then(() => false), late]).finally(() => clearTimeout(timer));
}

test('instances of one study written in concurrent open transactions do not wait for each other', async () => {
  const url = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  try {
    await migrate(pool, consoleLogger('warn'));
    await recordInstance(pool, instance('1.2.3.1.1'));
    const first = await prepareInstanceRecord(pool, instance('1.2.3.1.2'));
    const preparing = prepareInstanceRecord(pool, instance('1.2.3.1.3'));
    if (await waitedLonger(preparing, 3000)) {
      await first.rollback();
      await (await preparing).rollback();
      assert.fail("the second instance of the study waited for the first one's commit");
    }
    const second = await preparing;
    await Promise.all([second.commit(), first.commit()]);
    assert.deepEqual([first.result.outcome, second.result.outcome], ['new', 'new']);
    const [{ count }] = await query<{ count: string }>(url, "SELECT count(*) FROM instances WHERE study_uid = '1.2.3'");
    assert.equal(Number(count), 3);
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
