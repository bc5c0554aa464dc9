import fs from 'node:fs';

/**
 * Makes a directory's entries (a created or renamed file) durable. Windows cannot open a directory for
 * fsync; there NTFS journals the rename's metadata itself, so this is a no-op.
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
