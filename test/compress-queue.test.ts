// The upload queue and compression decisions: an instance waits for its decision while compression is on, is sent
// compressed when a verified file is ready, is compressed again after a correction, never waits when it is off.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { migrate } from '../agent/db/migrate';
import { consoleLogger } from '../agent/logging';
import { recordInstance } from '../agent/studies/record-instance';
import { claimUploads, markFailed } from '../agent/upload/queue';
import { ctInstanceRecord, sha256 } from './fixtures/instance-record';
import { createTestDatabase, query } from './helpers/database';

const claim = (pool: pg.Pool, awaitCompression: boolean) => claimUploads(pool, { owner: 'w', limit: 10, leaseSeconds: 60, priorities: [], spoolId: 'spool-a', awaitCompression });

async function keep(pool: pg.Pool, sop: string, bytes: string): Promise<Buffer> {
  const datasetSha256 = sha256(bytes);
  await recordInstance(pool, ctInstanceRecord(sop, { spoolPath: `s/${sop}_${bytes}.dcm`, datasetSha256 }));
  return datasetSha256;
}

const release = (pool: pg.Pool, sop: string) =>
  markFailed(pool, 'w', [{ sopInstanceUid: sop, error: 'test', permanent: false }], { baseSeconds: 0, maxSeconds: 0 }).then(() =>
    pool.query('UPDATE uploads SET next_attempt_at = now() WHERE sop_instance_uid = $1', [sop]),
  );

test('uploads wait for the compression decision of the current version, and send the compressed file', async () => {
  const url = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: url });
  try {
    await migrate(pool, consoleLogger('warn'));
    const sha = await keep(pool, '1.2.3.4', 'a');
    assert.equal((await query(url, 'SELECT state FROM compressions'))[0].state, 'pending', 'every kept version starts pending');
    assert.equal((await claim(pool, true)).length, 0, 'pending: not claimed');

    await pool.query("UPDATE compressions SET state = 'compressed', compressed_path = 'ab/x.dcm', transfer_syntax_uid = '1.2.840.10008.1.2.4.80', file_bytes = 300 WHERE dataset_sha256 = $1", [sha]);
    const [compressed] = await claim(pool, true);
    assert.deepEqual([compressed.compressedPath, compressed.transferSyntaxUid, compressed.fileBytes], ['ab/x.dcm', '1.2.840.10008.1.2.4.80', 300]);
    await release(pool, '1.2.3.4');
    const [asReceived] = await claim(pool, false);
    assert.deepEqual([asReceived.compressedPath, asReceived.transferSyntaxUid, asReceived.fileBytes], [undefined, '1.2.840.10008.1.2.1', 1000], 'compression off: the spool file');
    await release(pool, '1.2.3.4');

    // A correction: the compressed file of the old version must never go out.
    await keep(pool, '1.2.3.4', 'b');
    assert.equal((await query(url, 'SELECT state FROM compressions'))[0].state, 'pending');
    assert.equal((await claim(pool, true)).length, 0, 'the new version waits for its own decision');
    await pool.query("UPDATE compressions SET state = 'kept'");
    const [corrected] = await claim(pool, true);
    assert.equal(corrected.compressedPath, undefined, 'kept: sent as received');
    assert.equal(corrected.spoolPath, 's/1.2.3.4_b.dcm');

    await keep(pool, '1.2.3.5', 'c');
    assert.equal((await claim(pool, false)).length, 1, 'compression off: a pending decision does not delay the upload');
  } finally {
    await pool.end();
  }
});
