import path from 'node:path';
import os from 'node:os';
import winston from 'winston';

export type TrayLogger = winston.Logger;

/**
 * JSON lines on stdout and in a small rotated file of the user's: the tray runs as the logged-on user, who may
 * not write to the agent's logs folder.
 */
export function createTrayLogger(logDir: string): TrayLogger {
  const format = winston.format.combine(winston.format.timestamp(), winston.format.json());
  return winston.createLogger({
    level: 'info',
    format,
    transports: [new winston.transports.Console(), new winston.transports.File({ filename: path.join(logDir, 'tray.log'), maxsize: 1_000_000, maxFiles: 3, tailable: true })],
  });
}

/** %LOCALAPPDATA%\DicomGateway on Windows, $XDG_STATE_HOME/dicom-gateway (~/.local/state) elsewhere. */
export function userTrayDir(): string {
  if (process.platform === 'win32') return path.join(process.env.LOCALAPPDATA ?? path.join(os.homedir(), 'AppData', 'Local'), 'DicomGateway');
  return path.join(process.env.XDG_STATE_HOME ?? path.join(os.homedir(), '.local', 'state'), 'dicom-gateway');
}
