// Study completion after quiet periods, and receipts once the cloud confirmed every instance.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { migrate } from '../agent/db/migrate';
import { consoleLogger } from '../agent/logging';
import { completeQuietStudies, finishDeliveredStudies, recentReceipts } from '../agent/studies/completion';
import { recordInstance } from '../agent/studies/record-instance';
import { claimUploads, markDelivered } from '../agent/upload/queue';
import { ctInstanceRecord } from './fixtures/instance-record';
import { createTestDatabase, query } from './helpers/database';

const STUDIES = { seriesQuietSeconds: 30, studyQuietSeconds: 60, forceCompleteMinutes: 120 };

async function keep(pool: pg.Pool, study: string, series: string, sop: string): Promise<Buffer> {
  const record = ctInstanceRecord(sop, { seriesUid: series, studyUid: study, spoolPath: `${study}/${sop}.dcm`, fileBytes: 500, callingAe: 'T' });
  await recordInstance(pool, record);
  return record.datasetSha256;
}

test('a study completes after its quiet period, becomes done once delivered, with a receipt; a late instance reopens it', async () => {
  const url = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: url });
  await migrate(pool, consoleLogger('warn'));
  try {
    const hashes = [await keep(pool, '9.1', '9.1.1', '9.1.1.2'), await keep(pool, '9.1', '9.1.2', '9.1.1.1')];
    assert.deepEqual(await completeQuietStudies(pool, STUDIES), [], 'still arriving');

    await query(url, "UPDATE series SET last_received_at = now() - interval '45 seconds'");
    await query(url, "UPDATE studies SET last_received_at = now() - interval '45 seconds'");
    assert.deepEqual(await completeQuietStudies(pool, STUDIES), [], 'series quiet, study not yet');
    await query(url, "UPDATE studies SET last_received_at = now() - interval '61 seconds'");
    assert.deepEqual(await completeQuietStudies(pool, STUDIES), [{ studyUid: '9.1', forced: false }]);

    assert.deepEqual(await finishDeliveredStudies(pool), [], 'not delivered yet');
    const claimed = await claimUploads(pool, { owner: 'w', limit: 10, leaseSeconds: 60, priorities: [], spoolId: 'spool-a' });
    await markDelivered(pool, 'w', claimed);
    const [receipt] = await finishDeliveredStudies(pool);
    assert.equal(receipt.studyUid, '9.1');
    assert.equal(receipt.instances, 2);
    assert.equal(receipt.bytes, 1000);
    // Digest over the dataset hashes in SOP Instance UID order: 9.1.1.1 before 9.1.1.2.
    assert.equal(
      receipt.sha256,
      crypto
        .createHash('sha256')
        .update(Buffer.concat([hashes[1], hashes[0]]))
        .digest('hex'),
    );
    assert.deepEqual(
      (await recentReceipts(pool)).map((r) => r.studyUid),
      ['9.1'],
    );

    await keep(pool, '9.1', '9.1.2', '9.1.1.3');
    const [reopened] = await query(url, "SELECT completed_at, done_at FROM studies WHERE study_uid = '9.1'");
    assert.deepEqual(reopened, { completed_at: null, done_at: null }, 'a late instance reopens the study');
  } finally {
    await pool.end();
  }
});

test('a study still receiving after the force-complete limit is completed anyway, and says so', async () => {
  const url = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: url });
  await migrate(pool, consoleLogger('warn'));
  try {
    await keep(pool, '8.1', '8.1.1', '8.1.1.1');
    await query(url, "UPDATE studies SET first_received_at = now() - interval '121 minutes'");
    assert.deepEqual(await completeQuietStudies(pool, STUDIES), [{ studyUid: '8.1', forced: true }]);
  } finally {
    await pool.end();
  }
});
