import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];
// Removed when the test file's process exits (node:test hooks registered inside other hooks run too early).
process.on('exit', () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A new folder under the system temp dir, removed when the test file ends. */
export function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `gw-${label}-`));
  // PostgreSQL (run as 'postgres' when the suite runs as root) must be able to enter it.
  fs.chmodSync(dir, 0o755);
  made.push(dir);
  return dir;
}
