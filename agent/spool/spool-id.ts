import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** This spool folder's identity (created once): which agent can read an instance's file. */
export function readOrCreateSpoolId(spoolDir: string): string {
  const file = path.join(spoolDir, '.spool-id');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    const id = crypto.randomUUID();
    fs.writeFileSync(file, `${id}\n`, { flag: 'wx' });
    return id;
  }
}
