import fs from 'node:fs';
import path from 'node:path';
import type { GatewayConfig } from './config/config';
import { createLogger, type Logger } from './logging';
import { openDatabase, type Database } from './db/database';
import { recoverSpool } from './studies/recover-spool';
import { startStudyBookkeeping } from './studies/bookkeeping';
import { startUpload } from './upload/start-upload';
import { startCompressor, type Compressor } from './compress/compressor';
import { compressedFolder } from './compress/compressed-file';
import { finishInterruptedPurges } from './studies/retention';
import { readOrCreateSpoolId } from './spool/spool-id';
import type { Uploader } from './upload/uploader';
import { commitmentReportFromElements } from './upload/commitment-dataset';
import { acceptCommitmentReport } from './upload/commitments';
import { startReceiver, type Receiver } from './receive/receiver';
import { readRunningAgent, removeRuntimeFile, writeRuntimeFile } from './runtime-file';
import { startLocalApi } from './api/local-api';
import type { ApiServer } from './api/server';
import { VERSION } from './version';

export interface RunningAgent {
  log: Logger;
  database: Database;
  receiver: Receiver;
  /** Absent when no upstream is configured. */
  uploader?: Uploader;
  /** The local API and status page on 127.0.0.1. */
  api: ApiServer;
  /** Stops accepting, lets in-flight associations finish (up to graceMs), then closes the database. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts every stage in order: database, spool recovery, the DICOM listeners, then the local API. */
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
  let receiver: Receiver | undefined;
  let uploader: Uploader | undefined;
  let compressor: Compressor | undefined;
  let api: ApiServer;
  const startedAt = new Date().toISOString();
  const retentionDirs = { spoolDir, compressedDir: compressedFolder(config.dataDir) };
  const bookkeeping = startStudyBookkeeping(database.pool, config.studies, log, { config: config.retention, dirs: retentionDirs });
  try {
    // A purge a stop cut short is finished first, or recovery would report its removed files as missing.
    await finishInterruptedPurges(database.pool, retentionDirs, log);
    await recoverSpool(database.pool, spoolDir, log);
    if (config.compression.enabled) {
      compressor = await startCompressor({ pool: database.pool, dataDir: config.dataDir, spoolDir, spoolId, compression: config.compression, configFile: config.configFile, log });
    }
    uploader = startUpload(config, database.pool, spoolDir, spoolId, log);
    // A cloud PACS (Orthanc among them) may send its Storage Commitment report on a new association to our listener.
    const onCommitmentReport = config.upstream?.kind === 'dicom-tls' && config.upstream.storageCommitment
      ? (elements: Record<string, unknown>, callingAe: string) => acceptCommitmentReport(database.pool, log, commitmentReportFromElements(elements), `association from ${callingAe}`)
      : undefined;
    receiver = await startReceiver(config, { pool: database.pool, spoolDir, log, onCommitmentReport });
    api = await startLocalApi({ config, pool: database.pool, databaseUrl: database.url, receiver, uploader, startedAt, log });
  } catch (err) {
    await receiver?.close(0);
    await uploader?.stop();
    await compressor?.stop();
    await bookkeeping.stop();
    await database.close().catch(() => undefined);
    throw err;
  }
  writeRuntimeFile(config.dataDir, {
    pid: process.pid,
    version: VERSION,
    startedAt,
    port: receiver.port,
    tlsPort: receiver.tlsPort,
    apiPort: api.port,
    databaseUrl: config.database.url ?? database.url,
  });
  log.info('agent ready', { port: receiver.port, tlsPort: receiver.tlsPort, bindAddress: config.bindAddress, apiPort: api.port });

  const listening = receiver;
  let stopping: Promise<void> | undefined;
  return {
    log,
    database,
    receiver: listening,
    uploader,
    api,
    stop(graceMs = 10000) {
      stopping ??= (async () => {
        log.info('agent stopping');
        await api.close();
        await listening.close(graceMs);
        await compressor?.stop();
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
export async function runAgentUntilSignalled(config: GatewayConfig, alsoStopWhen?: Promise<unknown>): Promise<number> {
  const agent = await startAgent(config);
  return new Promise((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals | 'tray quit') => {
      if (signalled) {
        if (signal === 'tray quit') return;
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
    void alsoStopWhen?.then(() => onSignal('tray quit'));
  });
}
