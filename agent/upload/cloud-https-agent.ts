import https from 'node:https';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { UpstreamConfig } from '../config/upstream-config';
import { openTunnel } from './proxy-tunnel';
import { keepPeerCertificateOnError, tlsOptions } from './tls-failure';

/**
 * The keep-alive HTTPS agent for requests to the cloud: through the HTTP CONNECT proxy when one is configured (else
 * HTTPS_PROXY), TLS verified against caFile or the system's roots, with the client certificate when set. Shared by
 * STOW-RS and HL7 over HTTPS. Connecting and the handshake get at most 30 s, or `timeoutMs` if shorter.
 */
export function createCloudHttpsAgent(cloud: Pick<UpstreamConfig, 'url' | 'caFile' | 'certFile' | 'keyFile' | 'proxy'>, target: { host: string; port: number }, timeoutMs: number): https.Agent {
  const tlsBase = tlsOptions(cloud, target.host);
  const where = `${target.host}:${target.port}`;
  class TunnelAgent extends https.Agent {
    override createConnection(_options: http.ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
      openTunnel(target, cloud.proxy, Math.min(timeoutMs, 30_000)).then(
        (socket) => {
          const secure = tls.connect({ ...tlsBase, socket, ALPNProtocols: ['http/1.1'] });
          keepPeerCertificateOnError(secure);
          // A handshake that never finishes (a middlebox swallowing it) must end too.
          const timer = setTimeout(() => secure.destroy(Object.assign(new Error(`TLS handshake with ${where} timed out`), { code: 'ETIMEDOUT' })), timeoutMs);
          secure.once('secureConnect', () => clearTimeout(timer));
          secure.once('close', () => clearTimeout(timer));
          callback?.(null, secure);
        },
        (err: Error) => callback?.(err, undefined as unknown as Duplex),
      );
      return undefined;
    }
  }
  return new TunnelAgent({ keepAlive: true, keepAliveMsecs: 30_000, scheduling: 'lifo' });
}
