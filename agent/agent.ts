import fs from 'node:fs';
import path from 'node:path';
import type { GatewayConfig } from './config/config';
import { createLogger, type Logger } from './logging';
import { openDatabase, type Database } from './db/database';
import { withoutPassword } from './db/database-url';
import { recoverSpool } from './studies/recover-spool';
import { startStudyBookkeeping } from './studies/bookkeeping';
import { startUpload } from './upload/start-upload';
import { startCompressor, type Compressor } from './compress/compressor';
import { compressedFolder } from './compress/compressed-file';
import { createLinkRate } from './upload/link-rate';
import { finishInterruptedPurges } from './studies/retention';
import { readOrCreateSpoolId } from './spool/spool-id';
import type { Uploader } from './upload/uploader';
import { commitmentReportFromElements } from './upload/commitment-dataset';
import { acceptCommitmentReport } from './upload/commitments';
import { startReceiver, type Receiver } from './receive/receiver';
import { startHl7Interface, type Hl7Interface } from './hl7/hl7-interface';
import { readRunningAgent, removeRuntimeFile, writeRuntimeFile } from './runtime-file';
import { startLocalApi } from './api/local-api';
import type { ApiServer } from './api/server';
import { VERSION } from './version';
import { errorMessage } from './errors';

export interface RunningAgent {
  log: Logger;
  database: Database;
  receiver: Receiver;
  /** Absent when no upstream is configured. */
  uploader?: Uploader;
  /** Absent when hl7 is not configured. */
  hl7?: Hl7Interface;
  /** The local API and status page on 127.0.0.1. */
  api: ApiServer;
  /** Resolves when someone asked the agent to stop through its local API (`gateway stop`), naming who. */
  stopRequested: Promise<string>;
  /** Stops accepting, lets in-flight associations finish (up to graceMs), then closes the database. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts every stage in order: database, spool recovery, the DICOM listeners, then the local API. */
export async function startAgent(config: GatewayConfig): Promise<RunningAgent> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const log = createLogger(config.dataDir, config.log.level, config.log.keepDays);
  try {
    return await startStages(config, log);
  } catch (err) {
    // The service manager's record shows only the exit code: the reason goes to the agent's own log too.
    log.error('agent could not start', { error: errorMessage(err) });
    await closeLogger(log);
    throw err;
  }
}

async function startStages(config: GatewayConfig, log: Logger): Promise<RunningAgent> {
  const other = readRunningAgent(config.dataDir);
  if (other) throw new Error(`another agent (pid ${other.pid}) is running with data folder ${config.dataDir}`);

  log.info('agent starting', { version: VERSION, aeTitle: config.aeTitle, port: config.port, dataDir: config.dataDir });
  const spoolDir = path.join(config.dataDir, 'spool');
  fs.mkdirSync(spoolDir, { recursive: true });
  const spoolId = readOrCreateSpoolId(spoolDir);
  const database = await openDatabase(config, log, spoolId);
  let receiver: Receiver | undefined;
  let uploader: Uploader | undefined;
  let hl7: Hl7Interface | undefined;
  let compressor: Compressor | undefined;
  let api: ApiServer;
  const startedAt = new Date().toISOString();
  const retentionDirs = { spoolDir, compressedDir: compressedFolder(config.dataDir) };
  const bookkeeping = startStudyBookkeeping(database.pool, config.studies, log, { config: config.retention, dirs: retentionDirs });
  let requestStop!: (by: string) => void;
  const stopRequested = new Promise<string>((resolve) => (requestStop = resolve));
  try {
    // A purge a stop cut short is finished first, or recovery would report its removed files as missing.
    await finishInterruptedPurges(database.pool, retentionDirs, log);
    await recoverSpool(database.pool, spoolDir, log);
    // The uploader measures the cloud link; the compressor weighs it against its own rate (compress when it pays).
    const linkRate = config.upstream ? createLinkRate() : undefined;
    if (config.compression.enabled) {
      compressor = await startCompressor({ pool: database.pool, dataDir: config.dataDir, spoolDir, spoolId, compression: config.compression, configFile: config.configFile, linkRate, log });
    }
    uploader = startUpload(config, database.pool, spoolDir, spoolId, log, linkRate);
    // A cloud PACS (Orthanc among them) may send its Storage Commitment report on a new association to our listener.
    const onCommitmentReport =
      config.upstream?.kind === 'dicom-tls' && config.upstream.storageCommitment
        ? (elements: Record<string, unknown>, callingAe: string) => acceptCommitmentReport(database.pool, log, commitmentReportFromElements(elements), `association from ${callingAe}`)
        : undefined;
    receiver = await startReceiver(config, { pool: database.pool, spoolDir, log, onCommitmentReport });
    if (config.hl7) hl7 = await startHl7Interface({ ...config, hl7: config.hl7 }, database.pool, log);
    api = await startLocalApi({ config, pool: database.pool, databaseUrl: database.url, receiver, uploader, hl7, compressor, startedAt, log, requestStop });
  } catch (err) {
    await receiver?.close(0);
    await hl7?.stop(0);
    await uploader?.stop();
    await compressor?.stop();
    await bookkeeping.stop();
    await database.close().catch((closeErr: unknown) => log.warn('database did not close after a failed start', { error: errorMessage(closeErr) }));
    throw err;
  }
  writeRuntimeFile(config.dataDir, {
    pid: process.pid,
    version: VERSION,
    startedAt,
    port: receiver.port,
    tlsPort: receiver.tlsPort,
    apiPort: api.port,
    databaseUrl: withoutPassword(config.database.url ?? database.url),
  });
  log.info('agent ready', { port: receiver.port, tlsPort: receiver.tlsPort, bindAddress: config.bindAddress, apiPort: api.port });

  const listening = receiver;
  let stopping: Promise<void> | undefined;
  return {
    log,
    database,
    receiver: listening,
    uploader,
    hl7,
    api,
    stopRequested,
    stop(graceMs = 10000) {
      stopping ??= (async () => {
        log.info('agent stopping');
        await api.close();
        await listening.close(graceMs);
        await hl7?.stop(graceMs);
        await compressor?.stop();
        await uploader?.stop();
        await bookkeeping.stop();
        await database.close();
        removeRuntimeFile(config.dataDir);
        log.info('agent stopped');
        await closeLogger(log);
      })();
      return stopping;
    },
  };
}

/** Everything logged so far is written out before the process may exit (a file not yet open may never say 'finish'). */
function closeLogger(log: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2000);
    log.on('finish', () => {
      clearTimeout(timer);
      resolve();
    });
    log.end();
  });
}

/** Signals that ask for an orderly stop: Ctrl+C, a service manager's stop, Ctrl+Break and a closed console on Windows. */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGBREAK', 'SIGHUP'];
/** After a fatal error the agent still tries to stop in order (its database above all), but no longer than this. */
const FATAL_STOP_MS = 20_000;

/**
 * `gateway run`: runs until a stop signal or `gateway stop` (graceful; a second signal forces the exit). An error
 * nothing caught is logged and ends the process with exit code 1 after a bounded orderly stop, so that the
 * service manager restarts the agent rather than leave it half working.
 */
export async function runAgentUntilSignalled(config: GatewayConfig, alsoStopWhen?: Promise<unknown>): Promise<number> {
  // Listening before the start: a stop signal that comes while the agent starts is kept for when it has started.
  let pendingStop: string | undefined;
  let onStopSignal: (signal: string) => void = (signal) => {
    pendingStop ??= signal;
  };
  const signalHandlers = STOP_SIGNALS.map((signal) => [signal, () => onStopSignal(signal)] as const);
  for (const [signal, handler] of signalHandlers) process.on(signal, handler);
  let agent: RunningAgent;
  try {
    agent = await startAgent(config);
  } catch (err) {
    for (const [signal, handler] of signalHandlers) process.off(signal, handler);
    throw err;
  }
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (reason: string) => {
      if (stopping) {
        if (reason === 'tray quit' || reason === 'gateway stop') return;
        agent.log.warn('second stop signal: exiting at once', { signal: reason });
        process.exit(1);
      }
      stopping = true;
      agent.log.info('shutdown requested', { by: reason });
      agent.stop().then(
        () => resolve(0),
        (err: unknown) => {
          console.error(`gateway: shutdown failed: ${errorMessage(err)}`);
          resolve(1);
        },
      );
    };
    const fatal = (kind: string, err: unknown) => {
      agent.log.error('fatal error: the agent stops so that its service manager can start it again', { kind, error: errorMessage(err), stack: err instanceof Error ? err.stack : undefined });
      console.error(`gateway: fatal ${kind}: ${errorMessage(err)}`);
      setTimeout(() => process.exit(1), FATAL_STOP_MS);
      if (stopping) return;
      stopping = true;
      agent.stop(2000).then(
        () => process.exit(1),
        () => process.exit(1),
      );
    };
    onStopSignal = stop;
    process.on('uncaughtException', (err) => fatal('uncaught exception', err));
    process.on('unhandledRejection', (reason) => fatal('unhandled promise rejection', reason));
    void agent.stopRequested.then(stop);
    void alsoStopWhen?.then(() => stop('tray quit'));
    if (pendingStop) stop(pendingStop);
  });
}
