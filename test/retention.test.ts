// Retention: studies the cloud confirmed leave the local disk after keepDays, or oldest first when the disk runs
// low; nothing unconfirmed is ever removed, and a purge cut short by a crash is finished at the next start.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { migrate } from '../agent/db/migrate';
import { consoleLogger } from '../agent/logging';
import { spoolRelativePath } from '../agent/spool/spool-path';
import { recordInstance } from '../agent/studies/record-instance';
import { recoverSpool } from '../agent/studies/recover-spool';
import { finishInterruptedPurges, purgeDeliveredStudies } from '../agent/studies/retention';
import { ctInstanceRecord, sha256 } from './fixtures/instance-record';
import { createTestDatabase, query } from './helpers/database';
import { tempDir } from './helpers/temp-dir';

const log = consoleLogger('warn');
const NEVER_LOW = async () => Number.MAX_SAFE_INTEGER;

interface Setup {
  url: string;
  pool: pg.Pool;
  dirs: { spoolDir: string; compressedDir: string };
}

async function setUp(label: string): Promise<Setup> {
  const url = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: url });
  await migrate(pool, log);
  const root = tempDir(label);
  const dirs = { spoolDir: path.join(root, 'spool'), compressedDir: path.join(root, 'compressed') };
  fs.mkdirSync(dirs.spoolDir, { recursive: true });
  return { url, pool, dirs };
}

/** Keeps one instance as the receiver would: a file in the spool and its rows. */
async function keep({ pool, dirs }: Setup, study: string, sop: string, content = sop): Promise<string> {
  const hash = sha256(content);
  const relative = spoolRelativePath(study, sop, hash);
  const file = path.join(dirs.spoolDir, ...relative.split('/'));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  await recordInstance(pool, ctInstanceRecord(sop, { seriesUid: `${study}.1`, studyUid: study, spoolPath: relative, fileBytes: content.length, datasetSha256: hash, callingAe: 'T' }));
  return file;
}

/** The cloud confirmed the study's instances `daysAgo` days ago and nothing arrived since. */
async function confirm(url: string, study: string, daysAgo: number): Promise<void> {
  await query(url, `UPDATE uploads SET state = 'done', delivered_at = now() WHERE study_uid = $1`, [study]);
  await query(
    url,
    `UPDATE studies SET last_received_at = now() - make_interval(days => $2), completed_at = now() - make_interval(days => $2),
            done_at = now() - make_interval(days => $2), receipt_instances = 2, receipt_bytes = 10, receipt_sha256 = '\\x00'
      WHERE study_uid = $1`,
    [study, daysAgo],
  );
}

test('a confirmed study older than keepDays is purged; younger, unconfirmed or undelivered ones stay', async () => {
  const setup = await setUp('retention-age');
  const { url, pool, dirs } = setup;
  try {
    const oldFiles = [await keep(setup, '1.2.1', '1.2.1.1'), await keep(setup, '1.2.1', '1.2.1.2')];
    const recentFile = await keep(setup, '1.2.2', '1.2.2.1');
    const undeliveredFile = await keep(setup, '1.2.3', '1.2.3.1');
    await confirm(url, '1.2.1', 20);
    await confirm(url, '1.2.2', 3);
    // Complete and old, but one instance was never confirmed: the study is not done, nothing of it goes.
    await query(url, "UPDATE studies SET last_received_at = now() - interval '30 days', completed_at = now() - interval '30 days' WHERE study_uid = '1.2.3'");

    const purged = await purgeDeliveredStudies(pool, dirs, { keepDays: 14, freeDiskTargetMb: 0 }, log, NEVER_LOW);
    assert.deepEqual(purged, [{ studyUid: '1.2.1', instances: 2, bytes: 14, why: 'age' }]);
    for (const file of oldFiles) assert.equal(fs.existsSync(file), false, 'the purged study files are gone');
    assert.equal(fs.existsSync(path.dirname(oldFiles[0])), false, 'and so is its folder');
    assert.equal(fs.existsSync(recentFile), true, 'a study confirmed 3 days ago stays');
    assert.equal(fs.existsSync(undeliveredFile), true, 'an unconfirmed study stays');
    const [study] = await query(url, "SELECT purged_at IS NOT NULL AS purged, purging_since, receipt_instances FROM studies WHERE study_uid = '1.2.1'");
    assert.deepEqual(study, { purged: true, purging_since: null, receipt_instances: 2 }, 'the study row and its receipt stay');
    assert.deepEqual(await query(url, "SELECT count(*)::int AS n FROM instances WHERE study_uid = '1.2.1'"), [{ n: 0 }]);
    assert.deepEqual(await purgeDeliveredStudies(pool, dirs, { keepDays: 14, freeDiskTargetMb: 0 }, log, NEVER_LOW), [], 'nothing left to purge');

    // The sender sends a purged instance again: it is kept and queued as new, not taken for a duplicate.
    const again = await keep(setup, '1.2.1', '1.2.1.1');
    assert.equal(fs.existsSync(again), true);
    assert.deepEqual(await query(url, "SELECT state FROM uploads WHERE sop_instance_uid = '1.2.1.1'"), [{ state: 'queued' }]);
  } finally {
    await pool.end();
  }
});

test('when free space is below the target, the oldest confirmed studies go first, and only until it is reached', async () => {
  const setup = await setUp('retention-disk');
  const { url, pool, dirs } = setup;
  try {
    const files = {
      oldest: await keep(setup, '1.3.1', '1.3.1.1'),
      middle: await keep(setup, '1.3.2', '1.3.2.1'),
      newest: await keep(setup, '1.3.3', '1.3.3.1'),
      queued: await keep(setup, '1.3.4', '1.3.4.1'),
    };
    await confirm(url, '1.3.1', 3);
    await confirm(url, '1.3.2', 2);
    await confirm(url, '1.3.3', 1);
    // The disk reports enough free space once two studies are gone.
    let free = 0;
    const freeBytes = async () => free;
    const purging = purgeDeliveredStudies(pool, dirs, { keepDays: 14, freeDiskTargetMb: 1 }, log, async () => {
      const value = await freeBytes();
      free += 600 * 1024;
      return value;
    });
    const purged = await purging;
    assert.deepEqual(
      purged.map((p) => [p.studyUid, p.why]),
      [
        ['1.3.1', 'disk'],
        ['1.3.2', 'disk'],
      ],
    );
    assert.equal(fs.existsSync(files.oldest), false);
    assert.equal(fs.existsSync(files.middle), false);
    assert.equal(fs.existsSync(files.newest), true, 'once the target is met, the rest stays');
    assert.equal(fs.existsSync(files.queued), true);

    // A disk full of undelivered data: retention has nothing to remove and stops (the receiver refuses with A700).
    const stuck = await purgeDeliveredStudies(pool, dirs, { keepDays: 14, freeDiskTargetMb: 1 }, log, async () => 0);
    assert.deepEqual(
      stuck.map((p) => p.studyUid),
      ['1.3.3'],
    );
    assert.equal(fs.existsSync(files.queued), true, 'never the undelivered study');
  } finally {
    await pool.end();
  }
});

test('a purge a crash cut short is finished at the next start, and recovery reports no missing files', async () => {
  const setup = await setUp('retention-crash');
  const { url, pool, dirs } = setup;
  try {
    const files = [await keep(setup, '1.4.1', '1.4.1.1'), await keep(setup, '1.4.1', '1.4.1.2')];
    await confirm(url, '1.4.1', 20);
    // The crash: the purge had begun and removed one file, the rows were not yet deleted.
    await query(url, "UPDATE studies SET purging_since = now() WHERE study_uid = '1.4.1'");
    fs.rmSync(files[0]);

    await finishInterruptedPurges(pool, dirs, log);
    const report = await recoverSpool(pool, dirs.spoolDir, log);
    assert.equal(report.rowsWithoutFiles, 0, 'no file reported missing');
    assert.equal(report.filesIndexed, 0, 'and nothing re-indexed');
    assert.equal(fs.existsSync(files[1]), false);
    assert.deepEqual(await query(url, "SELECT purging_since, purged_at IS NOT NULL AS purged FROM studies WHERE study_uid = '1.4.1'"), [{ purging_since: null, purged: true }]);
  } finally {
    await pool.end();
  }
});
