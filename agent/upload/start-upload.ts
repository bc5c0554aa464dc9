import type { Pool } from 'pg';
import type { GatewayConfig } from '../config/config';
import type { UpstreamConfig } from '../config/upstream-config';
import type { Logger } from '../logging';
import type { CommitmentReport } from './commitment-dataset';
import { acceptCommitmentReport } from './commitments';
import { createDicomTlsTransport } from './dicom-tls-transport';
import { createPacer } from './pacer';
import { currentMaxMbps } from './schedule';
import { createStowRsTransport } from './stow-rs-transport';
import { upstreamTarget } from './upstream-target';
import type { Pacer, Transport } from './transport';
import { compressedFolder } from '../compress/compressed-file';
import { startUploader, type Uploader } from './uploader';
import type { BusyRate } from '../busy-rate';

/** The transport the configuration names; reading its certificate files may throw (a configuration error). */
export function createTransport(config: GatewayConfig & { upstream: UpstreamConfig }, pacer: Pacer, onCommitmentReport?: (report: CommitmentReport) => Promise<void>, extraWorker = false): Transport {
  if (config.upstream.kind === 'stow-rs') return createStowRsTransport(config.upstream, pacer, { batchMaxBytes: config.upload.batchMaxBytes });
  return createDicomTlsTransport(config.upstream, config.aeTitle, pacer, { onCommitmentReport, ...(extraWorker ? { connectTimeoutMs: EXTRA_CONNECT_TIMEOUT_MS } : {}) });
}

/**
 * How long a worker beyond the first waits for its TLS handshake: a cloud with no room for another association
 * leaves the connection in its listen queue, and the instances are better sent by the workers it does serve.
 */
const EXTRA_CONNECT_TIMEOUT_MS = 2000;

/**
 * Starts the upload stage when an upstream is configured: one pacer (upload.maxMbps and its schedule) shared by
 * upload.workers workers, each with its own connection to the cloud.
 */
export function startUpload(config: GatewayConfig, pool: Pool, spoolDir: string, spoolId: string, log: Logger, linkRate?: BusyRate): Uploader | undefined {
  const { upstream } = config;
  if (!upstream) {
    log.info('no upstream configured: instances are kept and queued, nothing is uploaded');
    return undefined;
  }
  const pacer = createPacer(() => currentMaxMbps(config.upload));
  const onCommitmentReport = (report: CommitmentReport) => acceptCommitmentReport(pool, log, report, 'upload association');
  // Fail at start on unreadable certificate files rather than in every worker.
  void createTransport({ ...config, upstream }, pacer).close();
  const target = upstreamTarget(upstream);
  log.info('upload started', { kind: upstream.kind, target, workers: config.upload.workers });
  const compressedDir = config.compression.enabled ? compressedFolder(config.dataDir) : undefined;
  // A DICOM-TLS worker keeps its association across claims, so small claims cost little and spread a backlog over
  // every worker; a STOW-RS claim is one request, so it stays as large as upload.batchMaxInstances allows.
  const claimLimit = upstream.kind === 'dicom-tls' ? Math.ceil(config.upload.batchMaxInstances / config.upload.workers) : config.upload.batchMaxInstances;
  return startUploader({
    pool,
    upload: config.upload,
    claimLimit,
    spoolDir,
    spoolId,
    log,
    compressedDir,
    upstream: target,
    linkRate,
    createTransport: (worker) => createTransport({ ...config, upstream }, pacer, onCommitmentReport, worker > 1),
  });
}
