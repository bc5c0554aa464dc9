import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_API_PORT } from '../agent/api/types';
import { loadConfig } from '../agent/config/config';
import { trayFiles } from './icons';
import { desktopNotifier } from './notifications';
import { platformOpener } from './open';
import { Tray } from './tray';
import { createTrayLogger, userTrayDir } from './tray-logger';

export interface TrayCommandOptions {
  /** The agent's data folder (from its configuration). */
  dataDir: string;
  apiPort: number;
  /** True inside the packaged executable: the binary and icons are beside it. */
  packaged: boolean;
}

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
  const config = loadConfig(configFile);
  return { dataDir: config.dataDir, apiPort: config.api.port };
}

/** `gateway tray`: runs until Quit in the menu or SIGINT/SIGTERM (a second signal exits at once). */
export async function trayCommand(options: TrayCommandOptions): Promise<number> {
  const userDir = userTrayDir();
  const logger = createTrayLogger(path.join(userDir, 'logs'));
  const files = trayFiles(options.packaged);
  const tray = new Tray({
    dataDir: options.dataDir,
    apiPort: options.apiPort,
    files,
    binaryCopyDir: path.join(userDir, 'traybin'),
    logger,
    showNotice: desktopNotifier(logger, files.windowsToaster),
    open: platformOpener(logger),
  });
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(1);
    signalled = true;
    logger.info('tray stopping', { signal });
    void tray.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  logger.info('tray starting', { dataDir: options.dataDir, apiPort: options.apiPort });
  tray.start();
  await tray.whenStopped();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return 0;
}
