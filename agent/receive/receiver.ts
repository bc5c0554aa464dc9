import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Pool } from 'pg';
import { Implementation } from 'dcmjs-dimse';
import type { GatewayConfig } from '../config/config';
import type { Logger } from '../logging';
import { errorMessage } from '../errors';
import { freeDiskBytes } from '../spool/disk-space';
import { createConnectionGate } from './connection-gate';
import { InstanceRecorder } from './instance-recorder';
import { installDimseOverrides } from './pdu-path';
import type { ReceiveContext } from './receive-context';
import { StoreScp } from './store-scp';

export interface Receiver {
  port: number;
  tlsPort?: number;
  /** Associations currently open (accepted and counted against the limit). */
  openAssociations(): number;
  /** True while every listener accepts connections. */
  listening(): boolean;
  /** Stops listening, waits up to graceMs for open associations to end, then cuts the rest. */
  close(graceMs: number): Promise<void>;
}

const DISK_CHECK_INTERVAL_MS = 2000;

/**
 * The DICOM listeners: our own net (and optional TLS) servers with Nagle off, each accepted socket handed to a
 * StoreScp. Limits shared by both listeners: source addresses and connections per address (at accept), concurrent
 * associations, free disk.
 */
export async function startReceiver(config: GatewayConfig, deps: { pool: Pool; spoolDir: string; log: Logger; onCommitmentReport?: ReceiveContext['onCommitmentReport'] }): Promise<Receiver> {
  const { log } = deps;
  installDimseOverrides();
  // What we announce in A-ASSOCIATE-AC and accept per P-DATA PDU (process-wide in dcmjs-dimse).
  Implementation.setMaxPduLength(config.limits.maxPduLength);
  const slots = new Set<object>();
  const sockets = new Set<net.Socket>();
  const gate = createConnectionGate({ allowedSourceAddresses: config.allowedSourceAddresses, maxPerAddress: config.limits.maxAssociationsPerAddress, log });
  const minFree = config.limits.minFreeDiskMb * 1024 * 1024;
  let diskLow = (await freeDiskBytes(deps.spoolDir)) < minFree;
  const diskTimer = setInterval(() => {
    freeDiskBytes(deps.spoolDir).then(
      (free) => {
        if (free < minFree !== diskLow)
          log[free < minFree ? 'error' : 'info'](free < minFree ? 'free disk below limits.minFreeDiskMb: new C-STOREs are refused with A700' : 'free disk back above limits.minFreeDiskMb', {
            freeMb: Math.round(free / 1048576),
          });
        diskLow = free < minFree;
      },
      (err: unknown) => log.warn('cannot read free disk space', { error: errorMessage(err) }),
    );
  }, DISK_CHECK_INTERVAL_MS);
  diskTimer.unref();
  if (diskLow) log.error('free disk below limits.minFreeDiskMb at start: new C-STOREs will be refused with A700', { minFreeDiskMb: config.limits.minFreeDiskMb });

  const recorder = new InstanceRecorder({ pool: deps.pool, spoolDir: deps.spoolDir, log });
  const contextFor = (secure: boolean): ReceiveContext => ({
    config,
    pool: deps.pool,
    spoolDir: deps.spoolDir,
    log,
    recorder,
    tls: secure,
    claimAssociationSlot(owner) {
      if (slots.size >= config.limits.maxAssociations) return false;
      slots.add(owner);
      return true;
    },
    releaseAssociationSlot: (owner) => slots.delete(owner),
    diskIsLow: () => diskLow,
    onCommitmentReport: deps.onCommitmentReport,
  });

  const accept = (socket: net.Socket, context: ReceiveContext) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    new StoreScp(socket, context);
  };

  // Room above the association limit so that extra callers get a proper transient A-ASSOCIATE-RJ, not a reset.
  const maxConnections = config.limits.maxAssociations + 16;
  const plainContext = contextFor(false);
  const plain = net.createServer({ noDelay: true }, (socket) => {
    if (gate.admit(socket)) accept(socket, plainContext);
    else socket.destroy();
  });
  plain.maxConnections = maxConnections;
  const port = await listen(plain, config.port, config.bindAddress, 'DICOM');

  let secure: tls.Server | undefined;
  let tlsPort: number | undefined;
  if (config.tls) {
    const secureContext = contextFor(true);
    secure = tls.createServer(tlsServerOptions(config.tls, 'tls.'), (socket) => {
      if (!presentedCertificateVerifies(socket, log, 'DICOM-TLS', 'tls.caFile')) return;
      accept(socket, secureContext);
    });
    secure.maxConnections = maxConnections;
    // The raw TCP connection, before the TLS handshake starts.
    secure.prependListener('connection', (socket: net.Socket) => {
      if (!gate.admit(socket)) socket.destroy();
    });
    secure.on('tlsClientError', (err, socket) => log.warn('DICOM-TLS handshake failed', { peer: `${socket.remoteAddress}:${socket.remotePort}`, error: err.message }));
    tlsPort = await listen(secure, config.tls.port, config.bindAddress, 'DICOM-TLS');
  }

  return {
    port,
    tlsPort,
    openAssociations: () => slots.size,
    listening: () => plain.listening && (secure?.listening ?? true),
    async close(graceMs) {
      clearInterval(diskTimer);
      const closed = Promise.all([plain, secure].filter((s): s is net.Server => s !== undefined).map((s) => new Promise((resolve) => s.close(resolve))));
      const deadline = Date.now() + graceMs;
      while (sockets.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      if (sockets.size > 0) log.warn('closing associations still open at shutdown', { count: sockets.size });
      for (const socket of sockets) socket.destroy();
      await closed;
      await recorder.close();
    },
  };
}

export function listen(server: net.Server, port: number, host: string, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const hint =
        err.code === 'EADDRINUSE' ? ' (another program uses this port: stop it or change the port in the configuration)' : err.code === 'EACCES' ? ' (not permitted to listen on this port)' : '';
      reject(new Error(`cannot listen for ${what} on ${host}:${port}: ${err.message}${hint}`));
    });
    server.listen(port, host, () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** Server options of a TLS listener: TLS 1.2 or later, client certificates required or optional (then verified when presented). */
export function tlsServerOptions(files: { certFile: string; keyFile: string; caFile?: string; requireClientCertificate: boolean }, prefix: string): tls.TlsOptions {
  return {
    cert: readPem(files.certFile, `${prefix}certFile`),
    key: readPem(files.keyFile, `${prefix}keyFile`),
    ca: files.caFile ? readPem(files.caFile, `${prefix}caFile`) : undefined,
    requestCert: files.requireClientCertificate || files.caFile !== undefined,
    rejectUnauthorized: files.requireClientCertificate,
    minVersion: 'TLSv1.2',
    noDelay: true,
  };
}

/**
 * With certificates optional, rejectUnauthorized is off: a certificate that was presented must still verify.
 * Closes the socket and returns false when it does not.
 */
export function presentedCertificateVerifies(socket: tls.TLSSocket, log: Logger, what: string, caKey: string): boolean {
  if (socket.authorized || socket.getPeerCertificate().raw === undefined) return true;
  log.warn(`${what} client certificate refused: it does not verify against ${caKey}`, { peer: `${socket.remoteAddress}:${socket.remotePort}`, error: String(socket.authorizationError) });
  socket.destroy();
  return false;
}

function readPem(file: string, key: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read ${key} ${file}: ${errorMessage(err)}`);
  }
}
