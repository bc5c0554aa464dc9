import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { API_TOKEN_FILE } from './types';

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;
/** The only part of the data folder interactive users may read (the installer grants it; README, Security). */
const TRAY_DIR = 'tray';
const TRAY_PORT_FILE = 'api-port';

export function apiTokenPath(dataDir: string): string {
  return path.join(dataDir, API_TOKEN_FILE);
}

/** Whether a text has the shape of a token this agent makes (32 random bytes, hex). */
export function isApiToken(text: string): boolean {
  return TOKEN_PATTERN.test(text);
}

/**
 * The token mutating API calls must send, written once to <dataDir>/api-token (32 random bytes, hex): mode
 * 0600 on POSIX; on Windows the data folder's permissions (SYSTEM, Administrators, the agent's account).
 * The tray gets its own copy through publishForTray.
 */
export function readOrCreateApiToken(dataDir: string): string {
  const file = apiTokenPath(dataDir);
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (isApiToken(existing)) {
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

/** <dataDir>/tray: where the tray of any signed-in user reads the API port and token, and nothing else. */
export function trayAccessDir(dataDir: string): string {
  return path.join(dataDir, TRAY_DIR);
}

/**
 * Writes the API's port and token into <dataDir>/tray for the tray (files named as in the data folder, so the
 * API client reads the token there as it would in the data folder). On Windows the folder's permissions, set
 * by the installer, add read for INTERACTIVE users; on POSIX the tray runs as the agent's user (mode 0700).
 */
export function publishForTray(dataDir: string, port: number, token: string): void {
  const dir = trayAccessDir(dataDir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeAtomically(path.join(dir, API_TOKEN_FILE), `${token}\n`);
  writeAtomically(path.join(dir, TRAY_PORT_FILE), `${port}\n`);
}

/** The port the agent published for the tray, if it did and the file says a port. */
export function readPublishedApiPort(dataDir: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(trayAccessDir(dataDir), TRAY_PORT_FILE), 'utf8').trim();
  } catch {
    return undefined;
  }
  const port = Number(text);
  return /^\d{1,5}$/.test(text) && port >= 1 && port <= 65535 ? port : undefined;
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
