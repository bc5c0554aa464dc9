import fs from 'node:fs';
import path from 'node:path';
import { trayBinaryName } from './icons';

/**
 * Puts the tray binary where systray2 runs it from and returns the folder to pass as its `copyDir`: systray2 runs
 * <copyDir>/<its version>/<platform binary name> when that file exists. Running a copy in a writable folder of
 * the user's means the binary as shipped may lack its run bit (systray2 ships it so) or be read-only, and on
 * Windows the installed file is never locked by a running tray, so an upgrade can replace it.
 */
export function prepareTrayBinary(source: string, copyRoot: string): string {
  const version = (require('systray2/package.json') as { version: string }).version;
  const target = path.join(copyRoot, version, trayBinaryName());
  if (!sameFile(source, target)) {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    try {
      fs.copyFileSync(source, `${target}.tmp`);
      fs.renameSync(`${target}.tmp`, target);
    } catch (err) {
      // A copy still running from another tray of this user keeps its file locked on Windows: use that one.
      if (!fs.existsSync(target)) throw new Error(`cannot copy the tray binary ${source} to ${target}: ${(err as Error).message}`);
    }
  }
  fs.chmodSync(target, 0o755);
  return copyRoot;
}

function sameFile(a: string, b: string): boolean {
  try {
    return fs.readFileSync(a).equals(fs.readFileSync(b));
  } catch {
    return false;
  }
}
