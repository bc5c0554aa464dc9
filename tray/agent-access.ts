import fs from 'node:fs';
import path from 'node:path';
import { API_PORT_FILE, API_TOKEN_PATTERN, TRAY_ACCESS_DIR } from '../agent/api/types';

/** <dataDir>/tray: the tray reads its token and the API port there and nowhere else in the data folder. */
export function trayAccessDir(dataDir: string): string {
  return path.join(dataDir, TRAY_ACCESS_DIR);
}

/** The port the agent published for the tray, if it did and the file says a port. */
export function readPublishedApiPort(dataDir: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(trayAccessDir(dataDir), API_PORT_FILE), 'utf8').trim();
  } catch {
    return undefined;
  }
  const port = Number(text);
  return /^\d{1,5}$/.test(text) && port >= 1 && port <= 65535 ? port : undefined;
}

/** Whether a text has the shape of a token the agent makes, before it goes into an address. */
export function isApiToken(text: string): boolean {
  return API_TOKEN_PATTERN.test(text);
}
