// The rows of acknowledged instances (agent/receive/instance-recorder.ts): gathered into one statement, written
// again while the database refuses them, and a later copy of an instance wins over an earlier one still waiting.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { migrate } from '../agent/db/migrate';
import { consoleLogger } from '../agent/logging';
import { InstanceRecorder } from '../agent/receive/instance-recorder';
import type { InstanceRecord } from '../agent/studies/record-instance';
import { ctInstanceRecord, sha256 } from './fixtures/instance-record';
import { createTestDatabase, query } from './helpers/database';
import { tempDir } from './helpers/temp-dir';

/** An instance whose (fake) spool file exists under spoolDir, named as the receiver names it. */
function spooled(spoolDir: string, sop: string, content: string): InstanceRecord {
  const datasetSha256 = sha256(content);
  const spoolPath = `1.2.3/${sop}_${datasetSha256.toString('hex').slice(0, 16)}.dcm`;
  fs.mkdirSync(path.join(spoolDir, '1.2.3'), { recursive: true });
  fs.writeFileSync(path.join(spoolDir, spoolPath), content);
  return ctInstanceRecord(sop, { spoolPath, fileBytes: content.length, datasetSha256 });
}

async function withRecorder(body: (recorder: InstanceRecorder, url: string, spoolDir: string) => Promise<void>): Promise<void> {
  const url = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const spoolDir = tempDir('recorder');
  const recorder = new InstanceRecorder({ pool, spoolDir, log: consoleLogger('error') });
  try {
    await migrate(pool, consoleLogger('warn'));
    await body(recorder, url, spoolDir);
  } finally {
    await recorder.close();
    await pool.end();
  }
}

test('rows arriving together are written in one statement, in order; a flush does not wait to gather', async () => {
  await withRecorder(async (recorder, url, spoolDir) => {
    const first = spooled(spoolDir, '1.2.3.1.1', 'v1');
    const corrected = spooled(spoolDir, '1.2.3.1.1', 'v2');
    const other = spooled(spoolDir, '1.2.3.1.2', 'x');
    await Promise.all([recorder.record(first), recorder.record(other), recorder.record(corrected)]);
    const rows = await query(url, 'SELECT sop_instance_uid, spool_path, xmin::text AS tx FROM instances ORDER BY 1');
    assert.deepEqual(
      rows.map((r) => r.spool_path),
      [corrected.spoolPath, other.spoolPath],
      'the later copy of 1.2.3.1.1 is the one kept',
    );
    assert.equal(new Set(rows.map((r) => r.tx)).size, 1, 'one transaction');
    assert.ok(!fs.existsSync(path.join(spoolDir, first.spoolPath)), 'the corrected copy is removed');

    recorder.flush();
    const started = Date.now();
    await recorder.record(spooled(spoolDir, '1.2.3.1.3', 'y'));
    assert.ok(Date.now() - started < 1000);
  });
});

test('rows the database refuses are written again once it takes them; an earlier copy still waiting is superseded', async () => {
  await withRecorder(async (recorder, url, spoolDir) => {
    await query(url, 'ALTER FUNCTION record_instance RENAME TO record_instance_disabled');
    const early = spooled(spoolDir, '1.2.3.1.1', 'early');
    const refusedOnly = spooled(spoolDir, '1.2.3.1.2', 'refused');
    await Promise.all([recorder.record(early), recorder.record(refusedOnly)]);
    assert.equal((await query(url, 'SELECT 1 FROM instances')).length, 0, 'refused, nothing written yet');

    await query(url, 'ALTER FUNCTION record_instance_disabled RENAME TO record_instance');
    const later = spooled(spoolDir, '1.2.3.1.1', 'later');
    recorder.flush();
    await recorder.record(later);
    const deadline = Date.now() + 10_000;
    while ((await query(url, 'SELECT 1 FROM instances')).length < 2) {
      assert.ok(Date.now() < deadline, 'the refused row is written again');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Past the next retry: the superseded copy must not come back over the later one.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const rows = await query(url, 'SELECT sop_instance_uid, spool_path, corrections FROM instances ORDER BY 1');
    assert.deepEqual(rows, [
      { sop_instance_uid: '1.2.3.1.1', spool_path: later.spoolPath, corrections: 0 },
      { sop_instance_uid: '1.2.3.1.2', spool_path: refusedOnly.spoolPath, corrections: 0 },
    ]);
    assert.ok(!fs.existsSync(path.join(spoolDir, early.spoolPath)), 'the superseded copy is removed');
    assert.ok(fs.existsSync(path.join(spoolDir, later.spoolPath)));
  });
});
