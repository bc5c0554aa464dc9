import crypto from 'node:crypto';
import path from 'node:path';

/**
 * Where an instance lives under <dataDir>/spool: one folder per study, one file per dataset version.
 * The name carries a prefix of the dataset hash, so a correction never overwrites the copy it replaces
 * until the database says so, and the same bytes received again land on the same name.
 */
export function spoolRelativePath(studyUid: string, sopInstanceUid: string, datasetSha256: Buffer): string {
  return `${spoolStudyFolder(studyUid)}/${uidFileName(sopInstanceUid)}_${datasetSha256.toString('hex').slice(0, 16)}.dcm`;
}

/** The spool folder of a study's instances. */
export function spoolStudyFolder(studyUid: string): string {
  return uidFileName(studyUid);
}

/**
 * A UID as a file name: conforming UIDs (digits and dots) as they are; anything else (a sender may put any bytes
 * there, '/' and '..' included) is replaced by its hash.
 */
export function uidFileName(uid: string): string {
  return /^[0-9][0-9.]{0,63}$/.test(uid) ? uid : `x${crypto.createHash('sha256').update(uid).digest('hex').slice(0, 32)}`;
}

/** A name the gateway gives (see uidFileName). */
const UID_NAME = '(?:[0-9][0-9.]{0,63}|x[0-9a-f]{32})';
const STORED_PATHS = {
  /** <study>/<instance>_<hash>.dcm under <dataDir>/spool (spoolRelativePath). */
  spool: new RegExp(`^${UID_NAME}/${UID_NAME}_[0-9a-f]{16}\\.dcm$`),
  /** <2 hex>/<instance>.<hash>.dcm under <dataDir>/compressed (compressedRelativePath). */
  compressed: new RegExp(`^[0-9a-f]{2}/${UID_NAME}\\.[0-9a-f]{16}\\.dcm$`),
};

export class StoredPathError extends Error {}

/**
 * A path the database names, as a file under its folder. Only names the gateway itself gives are accepted: an
 * edited row cannot make the agent read, upload or delete any other file ('..\', an absolute path, another folder).
 */
export function storedFilePath(root: string, kind: keyof typeof STORED_PATHS, relative: string): string {
  if (!STORED_PATHS[kind].test(relative)) {
    throw new StoredPathError(`the database names ${JSON.stringify(relative.slice(0, 200))} as a ${kind} file, which is not a name the gateway gives: refused`);
  }
  return path.join(root, ...relative.split('/'));
}
