import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isProcessAlive } from './process-alive';

/** What a running agent tells other commands (status, a second `run`) about itself: <dataDir>/agent.json. */
export interface RuntimeInfo {
  pid: number;
  version: string;
  startedAt: string;
  port: number;
  tlsPort?: number;
  /** The local API's port (api.port, or the free one picked when it is 0). */
  apiPort?: number;
  databaseUrl: string;
}

export function runtimeFilePath(dataDir: string): string {
  return path.join(dataDir, 'agent.json');
}

/** The running agent for this data folder, if any (a file left by a killed agent names a dead pid). */
export function readRunningAgent(dataDir: string): RuntimeInfo | undefined {
  let info: RuntimeInfo;
  try {
    info = JSON.parse(fs.readFileSync(runtimeFilePath(dataDir), 'utf8'));
  } catch {
    return undefined;
  }
  // After a reboot the pid may belong to any process: a file older than the boot is stale.
  const bootedAt = Date.now() - os.uptime() * 1000;
  if (Date.parse(info.startedAt) < bootedAt) return undefined;
  return info.pid !== process.pid && isProcessAlive(info.pid) ? info : undefined;
}

export function writeRuntimeFile(dataDir: string, info: RuntimeInfo): void {
  const file = runtimeFilePath(dataDir);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(info, null, 2), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

export function removeRuntimeFile(dataDir: string): void {
  fs.rmSync(runtimeFilePath(dataDir), { force: true });
}
