import path from 'node:path';
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
