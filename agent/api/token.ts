import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { API_TOKEN_FILE } from './types';

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

export function apiTokenPath(dataDir: string): string {
  return path.join(dataDir, API_TOKEN_FILE);
}

/**
 * The token mutating API calls must send, written once to <dataDir>/api-token (32 random bytes, hex). Only whoever
 * can read the data folder can pause uploads: mode 0600 on POSIX; on Windows the installer's ACL on
 * %ProgramData%\DicomGateway (Administrators and SYSTEM only) covers the file.
 */
export function readOrCreateApiToken(dataDir: string): string {
  const file = apiTokenPath(dataDir);
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (TOKEN_PATTERN.test(existing)) {
      if (process.platform !== 'win32') fs.chmodSync(file, 0o600);
      return existing;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the API token ${file}: ${(err as Error).message}`);
  }
  // Absent or damaged: a new one (a damaged file is replaced; the tray reads it again).
  const token = crypto.randomBytes(32).toString('hex');
  fs.writeFileSync(`${file}.tmp`, `${token}\n`, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
  return token;
}

/** Whether an Authorization header carries the token; compared in constant time. */
export function authorizationMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return false;
  const given = crypto.createHash('sha256').update(match[1]).digest();
  const expected = crypto.createHash('sha256').update(token).digest();
  return crypto.timingSafeEqual(given, expected);
}
