import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { API_PORT_FILE, API_TOKEN_FILE, API_TOKEN_PATTERN, TRAY_ACCESS_DIR } from './types';

export function apiTokenPath(dataDir: string): string {
  return path.join(dataDir, API_TOKEN_FILE);
}

/**
 * The token mutating API calls must send, written once to <dataDir>/api-token (32 random bytes, hex): mode
 * 0600 on POSIX; on Windows the data folder's permissions (SYSTEM, Administrators, the agent's account).
 */
export function readOrCreateApiToken(dataDir: string): string {
  return readOrCreateToken(apiTokenPath(dataDir));
}

/**
 * The tray's token, <dataDir>/tray/api-token: a second token, good for every call but stopping the agent, as
 * interactive users may read it. On Windows the tray folder's permissions, set by the installer, add read for
 * INTERACTIVE; on POSIX the tray runs as the agent's user (folder 0700, file 0600).
 */
export function readOrCreateTrayToken(dataDir: string): string {
  fs.mkdirSync(trayAccessDir(dataDir), { recursive: true, mode: 0o700 });
  return readOrCreateToken(path.join(trayAccessDir(dataDir), API_TOKEN_FILE));
}

function readOrCreateToken(file: string): string {
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (API_TOKEN_PATTERN.test(existing)) {
      if (process.platform !== 'win32') fs.chmodSync(file, 0o600);
      return existing;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the API token ${file}: ${(err as Error).message}`);
  }
  // Absent or damaged: a new one (a damaged file is replaced; the tray reads it again).
  const token = crypto.randomBytes(32).toString('hex');
  writeAtomically(file, `${token}\n`);
  return token;
}

/** <dataDir>/tray: the only part of the data folder interactive users may read (the installer grants it; README, Security). */
function trayAccessDir(dataDir: string): string {
  return path.join(dataDir, TRAY_ACCESS_DIR);
}

/** Writes the port the API listens on into <dataDir>/tray, beside the tray's token, once it listens. */
export function publishApiPort(dataDir: string, port: number): void {
  fs.mkdirSync(trayAccessDir(dataDir), { recursive: true, mode: 0o700 });
  writeAtomically(path.join(trayAccessDir(dataDir), API_PORT_FILE), `${port}\n`);
}

function writeAtomically(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

/** Whether an Authorization header carries the token; compared in constant time. */
export function authorizationMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return false;
  const given = crypto.createHash('sha256').update(match[1]).digest();
  const expected = crypto.createHash('sha256').update(token).digest();
  return crypto.timingSafeEqual(given, expected);
}
