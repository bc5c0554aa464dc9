import fs from 'node:fs';

/** Free bytes available to us on the volume holding `dir`. */
export async function freeDiskBytes(dir: string): Promise<number> {
  const stats = await fs.promises.statfs(dir);
  return stats.bavail * stats.bsize;
}
