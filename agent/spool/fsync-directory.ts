import fs from 'node:fs';

/**
 * Makes a directory's entries (a created or renamed file) durable. Windows cannot open a directory for
 * fsync; there NTFS journals the rename's metadata itself, so this is a no-op.
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  // Open and close are quick and done in place: only the fsync, which waits for the disk, takes a threadpool trip.
  const fd = fs.openSync(dir, 'r');
  try {
    await new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
  } finally {
    fs.closeSync(fd);
  }
}
