import fs from 'node:fs';
import path from 'node:path';
import type { GatewayConfig } from './config/config';
import { createLogger, type Logger } from './logging';
import { openDatabase, type Database } from './db/database';
import { recoverSpool } from './studies/recover-spool';
import { startStudyBookkeeping } from './studies/bookkeeping';
import { startUpload } from './upload/start-upload';
import { readOrCreateSpoolId } from './spool/spool-id';
import type { Uploader } from './upload/uploader';
import { startReceiver, type Receiver } from './receive/receiver';
import { readRunningAgent, removeRuntimeFile, writeRuntimeFile } from './runtime-file';
import { VERSION } from './version';

export interface RunningAgent {
  log: Logger;
  database: Database;
  receiver: Receiver;
  /** Absent when no upstream is configured. */
  uploader?: Uploader;
  /** Stops accepting, lets in-flight associations finish (up to graceMs), then closes the database. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts every stage in order: database, spool recovery, then the DICOM listeners. */
export async function startAgent(config: GatewayConfig): Promise<RunningAgent> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const log = createLogger(config.dataDir, config.log.level, config.log.keepDays);
  const other = readRunningAgent(config.dataDir);
  if (other) throw new Error(`another agent (pid ${other.pid}) is running with data folder ${config.dataDir}`);

  log.info('agent starting', { version: VERSION, aeTitle: config.aeTitle, port: config.port, dataDir: config.dataDir });
  const spoolDir = path.join(config.dataDir, 'spool');
  fs.mkdirSync(spoolDir, { recursive: true });
  const spoolId = readOrCreateSpoolId(spoolDir);
  const database = await openDatabase(config, log, spoolId);
  let receiver: Receiver;
  let uploader: Uploader | undefined;
  const bookkeeping = startStudyBookkeeping(database.pool, config.studies, log);
  try {
    await recoverSpool(database.pool, spoolDir, log);
    uploader = startUpload(config, database.pool, spoolDir, spoolId, log);
    receiver = await startReceiver(config, { pool: database.pool, spoolDir, log });
  } catch (err) {
    await uploader?.stop();
    await bookkeeping.stop();
    await database.close().catch(() => undefined);
    throw err;
  }
  writeRuntimeFile(config.dataDir, {
    pid: process.pid,
    version: VERSION,
    startedAt: new Date().toISOString(),
    port: receiver.port,
    tlsPort: receiver.tlsPort,
    databaseUrl: config.database.url ?? database.url,
  });
  log.info('agent ready', { port: receiver.port, tlsPort: receiver.tlsPort, bindAddress: config.bindAddress });

  let stopping: Promise<void> | undefined;
  return {
    log,
    database,
    receiver,
    uploader,
    stop(graceMs = 10000) {
      stopping ??= (async () => {
        log.info('agent stopping');
        await receiver.close(graceMs);
        await uploader?.stop();
        await bookkeeping.stop();
        await database.close();
        removeRuntimeFile(config.dataDir);
        log.info('agent stopped');
        await new Promise<void>((resolve) => {
          log.on('finish', resolve);
          log.end();
        });
      })();
      return stopping;
    },
  };
}

/** `gateway run`: runs until SIGINT/SIGTERM (graceful), a second signal forces the exit. */
export async function runAgentUntilSignalled(config: GatewayConfig): Promise<number> {
  const agent = await startAgent(config);
  return new Promise((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        agent.log.warn('second signal: exiting at once', { signal });
        process.exit(1);
      }
      signalled = true;
      agent.log.info('shutdown requested', { signal });
      agent.stop().then(
        () => resolve(0),
        (err) => {
          console.error(`gateway: shutdown failed: ${(err as Error).message}`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
