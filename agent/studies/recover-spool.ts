import fs from 'node:fs';
import path from 'node:path';
import type { Pool } from 'pg';
import { errorMessage } from '../errors';
import type { Logger } from '../logging';
import { INCOMING_DIR } from '../spool/spool-writer';
import { readPart10File } from '../spool/part10-reader';
import { spoolRelativePath, storedFilePath } from '../spool/spool-path';
import { recordInstance } from './record-instance';

export interface RecoveryReport {
  partialFilesRemoved: number;
  filesIndexed: number;
  obsoleteFilesRemoved: number;
  unreadableFiles: number;
  rowsWithoutFiles: number;
}

/**
 * Makes the spool and the database agree after any stop, clean or not:
 * - temp files of instances that were still arriving are removed (they were never acknowledged);
 * - complete files without rows (kept, then the agent died before the commit) are indexed;
 * - files an indexed correction replaced (the agent died before deleting them) are removed;
 * - rows whose file is gone are marked missing and reported loudly: that is data loss on this disk.
 */
export async function recoverSpool(pool: Pool, spoolDir: string, log: Logger): Promise<RecoveryReport> {
  const report: RecoveryReport = { partialFilesRemoved: 0, filesIndexed: 0, obsoleteFilesRemoved: 0, unreadableFiles: 0, rowsWithoutFiles: 0 };
  const incoming = path.join(spoolDir, INCOMING_DIR);
  await fs.promises.mkdir(incoming, { recursive: true });
  for (const name of await fs.promises.readdir(incoming)) {
    await fs.promises.rm(path.join(incoming, name), { force: true });
    report.partialFilesRemoved++;
  }

  const indexed = new Set<string>((await pool.query<{ spool_path: string }>('SELECT spool_path FROM instances')).rows.map((r) => r.spool_path));
  const onDisk = new Set<string>();
  for (const folder of await fs.promises.readdir(spoolDir, { withFileTypes: true })) {
    if (!folder.isDirectory() || folder.name === INCOMING_DIR) continue;
    for (const name of await fs.promises.readdir(path.join(spoolDir, folder.name))) {
      if (name.endsWith('.dcm')) onDisk.add(`${folder.name}/${name}`);
    }
  }

  // Oldest first: two unindexed copies of one instance (a correction acknowledged before the first copy's rows were
  // written) are indexed in the order they were received, so the later one wins as it would have.
  const unindexed = await Promise.all(
    [...onDisk].filter((relative) => !indexed.has(relative)).map(async (relative) => ({ relative, mtimeMs: (await fs.promises.stat(path.join(spoolDir, ...relative.split('/')))).mtimeMs })),
  );
  unindexed.sort((a, b) => a.mtimeMs - b.mtimeMs);
  for (const { relative } of unindexed) {
    const file = path.join(spoolDir, ...relative.split('/'));
    try {
      const kept = await readPart10File(file);
      const { studyInstanceUid, seriesInstanceUid } = kept.header;
      if (kept.problem || !studyInstanceUid || !seriesInstanceUid || !kept.sopInstanceUid) {
        throw new Error(kept.problem ?? 'study, series or SOP instance UID missing');
      }
      if (spoolRelativePath(studyInstanceUid, kept.sopInstanceUid, kept.datasetSha256) !== relative) {
        throw new Error('file name does not match its content');
      }
      const replaced = await pool.query(
        `SELECT 1 FROM instance_corrections c JOIN instances i USING (sop_instance_uid)
          WHERE c.sop_instance_uid = $1 AND c.previous_dataset_sha256 = $2 AND i.dataset_sha256 <> $2`,
        [kept.sopInstanceUid, kept.datasetSha256],
      );
      if (replaced.rowCount) {
        await fs.promises.rm(file, { force: true });
        report.obsoleteFilesRemoved++;
        continue;
      }
      const { outcome, obsoletePath } = await recordInstance(pool, {
        sopInstanceUid: kept.sopInstanceUid,
        seriesUid: seriesInstanceUid,
        studyUid: studyInstanceUid,
        modality: kept.header.modality,
        sopClassUid: kept.sopClassUid,
        transferSyntaxUid: kept.transferSyntaxUid,
        spoolPath: relative,
        fileBytes: kept.fileBytes,
        datasetSha256: kept.datasetSha256,
        callingAe: kept.sourceAeTitle,
        associationId: undefined,
      });
      if (obsoletePath) await fs.promises.rm(storedFilePath(spoolDir, 'spool', obsoletePath), { force: true });
      report.filesIndexed++;
      log.info('recovery indexed a kept file that had no database row', { sopInstanceUid: kept.sopInstanceUid, outcome });
    } catch (err) {
      report.unreadableFiles++;
      log.error('recovery could not index a spool file; it is left in place for inspection', { file: relative, error: errorMessage(err) });
    }
  }

  const missing = [...indexed].filter((relative) => !onDisk.has(relative));
  if (missing.length > 0) {
    const marked = await pool.query<{ sop_instance_uid: string }>('UPDATE instances SET missing_since = now() WHERE spool_path = ANY($1) AND missing_since IS NULL RETURNING sop_instance_uid', [
      missing,
    ]);
    report.rowsWithoutFiles = missing.length;
    log.error('SPOOL FILES MISSING: indexed instances have no file on disk (deleted or disk fault); they cannot be uploaded until the sender resends them', {
      count: missing.length,
      newlyMissing: marked.rowCount,
      examples: marked.rows.slice(0, 5).map((r) => r.sop_instance_uid),
    });
  }
  log.info('spool recovery finished', { ...report });
  return report;
}
