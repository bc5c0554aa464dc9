import path from 'node:path';
import winston from 'winston';
import DailyRotateFile from 'winston-daily-rotate-file';
import { EventLogTransport } from './host/event-log';

export type Logger = winston.Logger;

/**
 * JSON lines into <dataDir>/logs/gateway-YYYY-MM-DD.log, rotated daily, and the same lines on stdout so a
 * service wrapper or a terminal sees them; on Windows warnings and errors also go to the Application event log. Callers must never put patient names or IDs in info-level fields:
 * UIDs, AE titles, addresses, sizes and statuses only.
 */
export function createLogger(dataDir: string, level: string, keepDays: number): Logger {
  const format = winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: false }), winston.format.json());
  return winston.createLogger({
    level,
    format,
    transports: [
      new DailyRotateFile({
        dirname: logsDir(dataDir),
        filename: 'gateway-%DATE%.log',
        datePattern: 'YYYY-MM-DD',
        maxFiles: `${keepDays}d`,
        auditFile: path.join(logsDir(dataDir), '.audit.json'),
      }),
      new winston.transports.Console(),
      ...(process.platform === 'win32' ? [new EventLogTransport()] : []),
    ],
  });
}

export function logsDir(dataDir: string): string {
  return path.join(dataDir, 'logs');
}

/** A logger for commands that run before a data folder is known (init, errors in the config). */
export function consoleLogger(level = 'info'): Logger {
  return winston.createLogger({ level, format: winston.format.combine(winston.format.timestamp(), winston.format.json()), transports: [new winston.transports.Console()] });
}
