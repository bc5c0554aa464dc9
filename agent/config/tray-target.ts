import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_API_PORT } from '../api/types';
import { loadConfig } from './config';

/**
 * Where the tray finds the agent: --data-dir when given; else the configuration's data folder and API port. A
 * user's tray may not read the configuration (on Windows it sits in the data folder, for administrators and the
 * agent only): then the data folder is the configuration's folder, as the installer lays it out, and the port the
 * one the agent publishes in <dataDir>/tray.
 */
export function trayTarget(configFile: string, dataDir?: string): { dataDir: string; apiPort: number } {
  if (dataDir !== undefined) return { dataDir: path.resolve(dataDir), apiPort: DEFAULT_API_PORT };
  try {
    fs.accessSync(configFile, fs.constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') return { dataDir: path.dirname(path.resolve(configFile)), apiPort: DEFAULT_API_PORT };
  }
  const config = loadConfig(configFile, { secrets: false });
  return { dataDir: config.dataDir, apiPort: config.api.port };
}
