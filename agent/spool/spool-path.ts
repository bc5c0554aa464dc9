import crypto from 'node:crypto';

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
