import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { Tray } from '../../tray/tray';
import type { TrayNotice } from '../../tray/tray-state';
import { FAKE_TRAY_BINARY, FakeTrayHost } from './fake-tray-host';
import { REPO_ROOT } from './gateway-process';

export const TRAY_ICONS_DIR = path.join(REPO_ROOT, 'tray', 'icons');

/** The base64 of a tray icon, as the binary receives it. */
export function trayIcon(colour: string): string {
  return fs.readFileSync(path.join(TRAY_ICONS_DIR, `${colour}.png`)).toString('base64');
}

export interface TrayRig {
  tray: Tray;
  host: FakeTrayHost;
  notices: TrayNotice[];
  opened: string[];
  logs: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

/**
 * A Tray in this process polling every 100 ms, its binary the fake one talking to a FakeTrayHost, notifications
 * and opened targets collected in arrays. Not started: call rig.tray.start().
 */
export async function trayRig(dir: string, agent: { dataDir: string; apiPort: number }): Promise<TrayRig> {
  const host = new FakeTrayHost(dir);
  await host.listen();
  const notices: TrayNotice[] = [];
  const opened: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  const logger = winston.createLogger({ format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
  // systray2 spawns the binary with this process's environment: that is how the fake finds its host.
  process.env.FAKE_TRAY_SOCKET = host.socketPath;
  const tray = new Tray({
    dataDir: agent.dataDir,
    apiPort: agent.apiPort,
    files: { iconsDir: TRAY_ICONS_DIR, binary: FAKE_TRAY_BINARY },
    binaryCopyDir: path.join(dir, 'traybin'),
    logger,
    showNotice: (notice) => notices.push(notice),
    open: (target) => opened.push(target),
    pollMs: 100,
    restartMs: 100,
    readyTimeoutMs: 5000,
  });
  return {
    tray,
    host,
    notices,
    opened,
    logs,
    async stop() {
      await tray.stop();
      await host.close();
    },
  };
}
