import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { uidFileName } from '../spool/spool-path';

/** Compressed files live beside the spool: <dataDir>/compressed/<2 hex>/<SOP Instance UID>.<version>.dcm. */
export function compressedFolder(dataDir: string): string {
  return path.join(dataDir, 'compressed');
}

/** Where workers write before a compressed file is verified and renamed into place; emptied at start. */
export const COMPRESSED_INCOMING_DIR = '.incoming';

/** The path relative to the compressed folder; the received version is part of the name, so a correction never reuses it. */
export function compressedRelativePath(sopInstanceUid: string, datasetSha256: Buffer): string {
  const bucket = crypto.createHash('sha256').update(sopInstanceUid).digest('hex').slice(0, 2);
  return `${bucket}/${uidFileName(sopInstanceUid)}.${datasetSha256.toString('hex').slice(0, 16)}.dcm`;
}

/** Writes and fsyncs a file (the worker's half of temp, fsync, rename). */
export function writeFileDurably(file: string, bytes: Buffer): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
