import fs from 'node:fs';
import path from 'node:path';
import type { Pool } from 'pg';
import type { Logger } from '../logging';
import { freeDiskBytes } from '../spool/disk-space';
import { spoolStudyFolder, storedFilePath } from '../spool/spool-path';
import { withTransaction } from '../db/transaction';
import { errorMessage } from '../errors';

export interface RetentionConfig {
  /** Days a done study stays on disk after the cloud confirmed it (and after its last instance arrived). */
  keepDays: number;
  /** Below this much free space, done studies are purged oldest first, whatever their age. */
  freeDiskTargetMb: number;
}

export interface RetentionDirs {
  spoolDir: string;
  /** Where compressed copies are kept (compressions.compressed_path is relative to it). */
  compressedDir: string;
}

export interface PurgedStudy {
  studyUid: string;
  instances: number;
  bytes: number;
  why: 'age' | 'disk';
}

/** Studies purged per pass for age: the rest wait for the next pass, so one pass never holds the database long. */
const AGE_BATCH = 20;
/** A purge deletes at most this many instances per transaction (rows locked, files removed, rows deleted). */
const INSTANCE_BATCH = 500;

/**
 * Frees the local disk of what the cloud has confirmed: done studies older than keepDays, then, while free space is
 * below freeDiskTargetMb, the oldest done studies. Only instances whose current version is confirmed are removed;
 * anything queued, sending, failed or received meanwhile stays. Never purges to make room for undelivered data:
 * when only undelivered data fills the disk, the receiver refuses new stores (A700) instead.
 */
export async function purgeDeliveredStudies(pool: Pool, dirs: RetentionDirs, retention: RetentionConfig, log: Logger, freeBytes = () => freeDiskBytes(dirs.spoolDir)): Promise<PurgedStudy[]> {
  const purged: PurgedStudy[] = [];
  const { rows } = await pool.query<{ study_uid: string }>(
    `SELECT s.study_uid FROM studies s
      WHERE s.done_at IS NOT NULL AND s.done_at < now() - make_interval(days => $1) AND s.last_received_at < now() - make_interval(days => $1)
        AND EXISTS (SELECT 1 FROM instances i WHERE i.study_uid = s.study_uid)
      ORDER BY s.done_at LIMIT $2`,
    [retention.keepDays, AGE_BATCH],
  );
  for (const { study_uid: studyUid } of rows) purged.push({ studyUid, ...(await purgeStudy(pool, dirs, studyUid)), why: 'age' });

  const target = retention.freeDiskTargetMb * 1024 * 1024;
  const tried = new Set<string>();
  while ((await freeBytes()) < target) {
    const { rows: oldest } = await pool.query<{ study_uid: string }>(
      `SELECT s.study_uid FROM studies s
        WHERE s.done_at IS NOT NULL AND NOT (s.study_uid = ANY($1))
          AND EXISTS (SELECT 1 FROM instances i WHERE i.study_uid = s.study_uid)
        ORDER BY s.done_at LIMIT 1`,
      [[...tried]],
    );
    if (oldest.length === 0) break;
    const studyUid = oldest[0].study_uid;
    tried.add(studyUid);
    purged.push({ studyUid, ...(await purgeStudy(pool, dirs, studyUid)), why: 'disk' });
  }
  for (const study of purged) log.info('study purged from the local disk: the cloud has confirmed it', { ...study });
  return purged;
}

/**
 * Removes the confirmed instances of one study: files first, then their rows, in transactions that hold the rows'
 * locks, so a resend of one of them (which locks its row) waits and then arrives as a new instance. A crash in the
 * middle leaves purging_since set; finishInterruptedPurges completes it at startup.
 */
export async function purgeStudy(pool: Pool, dirs: RetentionDirs, studyUid: string): Promise<{ instances: number; bytes: number }> {
  await pool.query('UPDATE studies SET purging_since = coalesce(purging_since, now()) WHERE study_uid = $1', [studyUid]);
  let instances = 0;
  let bytes = 0;
  for (;;) {
    const removed = await withTransaction(pool, async (client) => {
      const { rows } = await client.query<{ sop_instance_uid: string; spool_path: string; file_bytes: string; compressed_path: string | null }>(
        `SELECT i.sop_instance_uid, i.spool_path, i.file_bytes, c.compressed_path
           FROM instances i
           JOIN uploads u ON u.sop_instance_uid = i.sop_instance_uid AND u.state = 'done' AND u.dataset_sha256 = i.dataset_sha256
           LEFT JOIN compressions c ON c.sop_instance_uid = i.sop_instance_uid
          WHERE i.study_uid = $1
          LIMIT $2
            FOR UPDATE OF i, u SKIP LOCKED`,
        [studyUid, INSTANCE_BATCH],
      );
      for (const row of rows) {
        await removeFile(storedFilePath(dirs.spoolDir, 'spool', row.spool_path));
        if (row.compressed_path) await removeFile(storedFilePath(dirs.compressedDir, 'compressed', row.compressed_path));
        bytes += Number(row.file_bytes);
      }
      const uids = rows.map((row) => row.sop_instance_uid);
      await client.query('DELETE FROM compressions WHERE sop_instance_uid = ANY($1)', [uids]);
      await client.query('DELETE FROM uploads WHERE sop_instance_uid = ANY($1)', [uids]);
      await client.query('DELETE FROM instance_corrections WHERE sop_instance_uid = ANY($1)', [uids]);
      await client.query('DELETE FROM instances WHERE sop_instance_uid = ANY($1)', [uids]);
      return rows.length;
    }).catch((err: unknown) => {
      throw new Error(`cannot purge study ${studyUid}: ${errorMessage(err)}`);
    });
    instances += removed;
    if (removed < INSTANCE_BATCH) break;
  }
  await pool.query('UPDATE studies SET purging_since = NULL, purged_at = now() WHERE study_uid = $1', [studyUid]);
  await removeEmptyFolder(pool, dirs.spoolDir, studyUid);
  return { instances, bytes };
}

/** Startup: finishes purges a crash cut short (their files may be gone while their rows remain). */
export async function finishInterruptedPurges(pool: Pool, dirs: RetentionDirs, log: Logger): Promise<void> {
  const { rows } = await pool.query<{ study_uid: string }>('SELECT study_uid FROM studies WHERE purging_since IS NOT NULL');
  for (const { study_uid: studyUid } of rows) {
    const done = await purgeStudy(pool, dirs, studyUid);
    log.info('finished a purge that a stop had interrupted', { studyUid, instances: done.instances });
  }
}

async function removeFile(file: string): Promise<void> {
  await fs.promises.rm(file, { force: true });
}

/**
 * Removes the study's spool folder once none of its instances is kept (rmdir refuses a folder that is not empty).
 * A store placing a file in it at that very moment fails and is answered A700; the sender sends it again.
 */
async function removeEmptyFolder(pool: Pool, spoolDir: string, studyUid: string): Promise<void> {
  const { rowCount } = await pool.query('SELECT 1 FROM instances WHERE study_uid = $1 LIMIT 1', [studyUid]);
  if (rowCount) return;
  await fs.promises.rmdir(path.join(spoolDir, spoolStudyFolder(studyUid))).catch(() => undefined);
}
