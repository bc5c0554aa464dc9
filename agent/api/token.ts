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

/** Writes the port the API listens on into <dataDir>/tray, beside the tray's token, once it listens. */
export function publishApiPort(dataDir: string, port: number): void {
  fs.mkdirSync(trayAccessDir(dataDir), { recursive: true, mode: 0o700 });
  writeAtomically(path.join(trayAccessDir(dataDir), TRAY_PORT_FILE), `${port}\n`);
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
