// The way to the cloud's DICOM-TLS port, shared by the transport and the connectivity test: TCP (direct or through
// the CONNECT proxy), the TLS handshake, and what the cloud's association rejections mean, in its words.
import type net from 'node:net';
import tls from 'node:tls';
import type { UpstreamConfig } from '../config/upstream-config';
import { DicomError, type AssociateReject } from '../dicom/dicom-error';
import { errorMessage } from '../errors';
import { openTunnel } from './proxy-tunnel';
import { describeTlsFailure, keepPeerCertificateOnError, tlsOptions } from './tls-failure';

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/**
 * TLS over an open connection to the cloud: its certificate and host name always verified (tlsOptions: the cloud's
 * host, never the proxy's; SNI; TLS 1.2+; no switch to turn verification off). Throws DicomError 'config' (our TLS
 * files), 'timeout' or 'tls' (the cause keeps the TLS error and its code).
 */
export function startTls(raw: net.Socket, upstream: UpstreamConfig, target: { host: string; port: number }, timeoutMs: number): Promise<tls.TLSSocket> {
  let options: tls.ConnectionOptions;
  try {
    options = tlsOptions(upstream, target.host);
  } catch (err) {
    raw.destroy();
    return Promise.reject(new DicomError('config', `cannot read the TLS files of upstream (caFile/certFile/keyFile): ${errorMessage(err)}`, { cause: err }));
  }
  return new Promise((resolve, reject) => {
    let socket: tls.TLSSocket;
    try {
      socket = tls.connect({ ...options, socket: raw, rejectUnauthorized: true });
      keepPeerCertificateOnError(socket);
    } catch (err) {
      raw.destroy();
      reject(new DicomError('config', `TLS setup failed: ${errorMessage(err)} (check upstream.certFile/keyFile/caFile)`, { cause: err }));
      return;
    }
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DicomError('timeout', `TLS handshake with ${target.host}:${target.port} did not complete within ${seconds(timeoutMs)}: is that port TLS?`));
    }, timeoutMs);
    const onError = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new DicomError('tls', describeTlsFailure(err), { cause: err }));
    };
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      socket.off('error', onError);
      // Whoever reads the socket next listens for its errors; until then one must not crash the process.
      socket.on('error', () => undefined);
      resolve(socket);
    });
  });
}

/** TCP (through the proxy when one is set) and TLS to upstream.host:port. Throws DicomError ('network' when no connection). */
export async function connectToCloud(upstream: UpstreamConfig, timeoutMs: number): Promise<tls.TLSSocket> {
  const host = upstream.host ?? '';
  const port = upstream.port ?? 0;
  let raw: net.Socket;
  try {
    raw = await openTunnel({ host, port }, upstream.proxy, timeoutMs);
  } catch (err) {
    throw new DicomError('network', `cannot connect to the cloud at ${host}:${port}: ${errorMessage(err)}`, { cause: err });
  }
  try {
    return await startTls(raw, upstream, { host, port }, timeoutMs);
  } catch (err) {
    if (err instanceof DicomError && err.kind === 'tls') throw new DicomError('tls', `cannot open DICOM-TLS to ${host}:${port}: ${err.message}`, { cause: err.cause });
    throw err;
  }
}

/** An A-ASSOCIATE-RJ from the cloud (PS3.8 9.3.4), with the fix a support engineer would try. */
export function describeAssociateReject(reject: AssociateReject, calledAe: string, callingAe: string): string {
  const { result, source, reason } = reject;
  const kind = result === 1 ? 'permanently' : 'transiently';
  let cause: string;
  if (source === 1 && reason === 7) cause = `the cloud does not know AE title ${calledAe}: check upstream.calledAeTitle`;
  else if (source === 1 && reason === 3) cause = `the cloud does not accept our AE title ${callingAe}: have the cloud provider register it, or check the gateway's AE title`;
  else if (source === 1 && reason === 2) cause = 'the cloud does not support the DICOM application context';
  else if (source === 2 && reason === 2) cause = 'the cloud does not support the DICOM protocol version';
  else if (source === 3 && reason === 1) cause = 'the cloud is busy (temporary congestion)';
  else if (source === 3 && reason === 2) cause = 'the cloud is busy (too many associations)';
  else cause = 'no reason given';
  return `association rejected ${kind} (result ${result}, source ${source}, reason ${reason}): ${cause}`;
}
