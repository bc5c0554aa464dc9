import fs from 'node:fs';
import net from 'node:net';
import type tls from 'node:tls';
import type { UpstreamConfig } from '../config/upstream-config';
import { networkCause, TunnelError } from './proxy-tunnel';

/** The server's certificate, attached to a verification error by `keepPeerCertificateOnError` (subject, issuer, dates). */
interface PeerCertificateSummary {
  subject?: string;
  issuer?: string;
  validTo?: string;
}

const PEER = Symbol.for('dicom-cloud-gateway.peerCertificate');

/**
 * TLS options for the way to the cloud: TLS 1.2 or later; the CA from upstream.caFile (else the system roots);
 * our client certificate and key when set; SNI for a host name. Verification is always on: there is no switch.
 */
export function tlsOptions(upstream: Pick<UpstreamConfig, 'host' | 'url' | 'caFile' | 'certFile' | 'keyFile'>, host?: string): tls.ConnectionOptions {
  const target = host ?? upstream.host ?? (upstream.url ? new URL(upstream.url).hostname.replace(/^\[(.*)\]$/, '$1') : undefined);
  const options: tls.ConnectionOptions = { minVersion: 'TLSv1.2', rejectUnauthorized: true };
  if (target !== undefined) {
    options.host = target;
    if (net.isIP(target) === 0) options.servername = target;
  }
  if (upstream.caFile) options.ca = fs.readFileSync(upstream.caFile);
  if (upstream.certFile) options.cert = fs.readFileSync(upstream.certFile);
  if (upstream.keyFile) options.key = fs.readFileSync(upstream.keyFile);
  return options;
}

/**
 * Makes a TLS socket keep the server's certificate on the error it is destroyed with, so that
 * describeTlsFailure can say who issued it (the intercepting proxy's CA) or when it expired.
 */
export function keepPeerCertificateOnError(socket: tls.TLSSocket): void {
  const destroy = socket.destroy.bind(socket);
  socket.destroy = (err?: Error) => {
    if (err && typeof (err as NodeJS.ErrnoException).code === 'string' && !(PEER in err)) {
      try {
        const cert = socket.getPeerCertificate(false);
        if (cert && Object.keys(cert).length > 0) {
          const summary: PeerCertificateSummary = { subject: distinguishedName(cert.subject), issuer: distinguishedName(cert.issuer), validTo: cert.valid_to };
          Object.defineProperty(err, PEER, { value: summary, enumerable: false });
        }
      } catch {
        // the handle is already gone: describe without the certificate
      }
    }
    return destroy(err);
  };
}

function distinguishedName(name: tls.Certificate | undefined): string | undefined {
  if (!name) return undefined;
  const cn = name.CN ? `CN=${Array.isArray(name.CN) ? name.CN.join(',') : name.CN}` : undefined;
  const o = name.O ? `O=${Array.isArray(name.O) ? name.O.join(',') : name.O}` : undefined;
  return [cn, o].filter(Boolean).join(', ') || undefined;
}

const UNKNOWN_ISSUER = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']);

/** What went wrong in a TLS or connection failure, for code that chooses a hint by it. */
export type TlsFailureKind =
  | 'tunnel'
  | 'unknown-issuer'
  | 'expired'
  | 'not-yet-valid'
  | 'host-mismatch'
  | 'revoked'
  | 'client-certificate-required'
  | 'client-certificate-refused'
  | 'protocol-version'
  | 'not-tls'
  | 'handshake'
  | 'malformed-host'
  | 'tls'
  | 'network'
  | 'other';

/** Classifies an error by its code, or for OpenSSL alerts (which have no code of their own) by OpenSSL's text. */
export function tlsFailureKind(err: unknown): TlsFailureKind {
  if (err instanceof TunnelError) return 'tunnel';
  if (!(err instanceof Error)) return 'other';
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? '';
  const message = e.message ?? '';
  if (UNKNOWN_ISSUER.has(code)) return 'unknown-issuer';
  if (code === 'CERT_HAS_EXPIRED') return 'expired';
  if (code === 'CERT_NOT_YET_VALID') return 'not-yet-valid';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'host-mismatch';
  if (code === 'CERT_REVOKED') return 'revoked';
  const alert = `${code} ${message}`.toLowerCase();
  if (/certificate.required|certificate_required/.test(alert)) return 'client-certificate-required';
  if (
    /bad.certificate|bad_certificate|unknown.ca|unknown_ca|certificate.unknown|certificate_unknown|unsupported.certificate|certificate.expired|certificate_expired|certificate.revoked|access.denied/.test(
      alert,
    )
  ) {
    return 'client-certificate-refused';
  }
  if (/protocol.version|unsupported.protocol|no.protocols.available|version.too.low|tlsv1.alert.protocol/.test(alert)) return 'protocol-version';
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong.version.number|packet.length.too.long|http.request/.test(alert)) return 'not-tls';
  if (/handshake.failure|no.shared.cipher|sslv3.alert.handshake/.test(alert)) return 'handshake';
  if (code === 'ERR_TLS_CERT_ALTNAME_FORMAT') return 'malformed-host';
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /ssl|tls/i.test(message)) return 'tls';
  if (/^E[A-Z]+$/.test(code)) return 'network';
  return 'other';
}

/**
 * A TLS or connection failure in plain words, with the fix a support engineer would try.
 * Works on any error (network errors and tunnel errors too), so transports can use it for every failure.
 */
export function describeTlsFailure(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const code = e.code ?? '';
  const message = e.message ?? '';
  const peer = (err as unknown as Record<symbol, PeerCertificateSummary | undefined>)[PEER];
  switch (tlsFailureKind(err)) {
    case 'tunnel':
      return message;
    case 'unknown-issuer': {
      const issuer = peer?.issuer ? ` (the certificate presented was issued by ${peer.issuer})` : '';
      return `server certificate has an unknown issuer${issuer} — is a proxy or firewall intercepting TLS? add its CA to upstream.caFile or exempt the cloud host [${code}]`;
    }
    case 'expired': {
      const when = peer?.validTo ? ` on ${peer.validTo}` : '';
      return `server certificate expired${when} — the cloud must renew it (or check this computer's clock) [${code}]`;
    }
    case 'not-yet-valid':
      return `server certificate is not valid yet — check this computer's date and time [${code}]`;
    case 'host-mismatch': {
      const detail = e.reason ? `: ${e.reason}` : '';
      return `server certificate host name mismatch${detail} — check the host in the upstream settings, or a proxy is answering with its own certificate [${code}]`;
    }
    case 'revoked':
      return `server certificate was revoked [${code}]`;
    case 'client-certificate-required':
      return `client certificate refused: the server requires one — set upstream.certFile and upstream.keyFile [${code || 'alert certificate required'}]`;
    case 'client-certificate-refused':
      return `client certificate refused by the server — check upstream.certFile/keyFile: is it the one the cloud issued, still valid, with its chain? [${code || message}]`;
    case 'protocol-version':
      return `TLS version not accepted: TLS 1.2 or later is required on both sides [${code || message}]`;
    case 'not-tls':
      return `the server did not answer with TLS — is the port a plain (non-TLS) port, or is something else listening there? [${code || message}]`;
    case 'handshake':
      return `TLS handshake refused: no common protocol version or cipher (TLS 1.2+ required) [${code || message}]`;
    case 'malformed-host':
      return `server certificate has a malformed host name [${code}]`;
    case 'tls':
      return `TLS failure: ${message}${code ? ` [${code}]` : ''}`;
    case 'network':
      if (code === 'ECONNRESET' && /socket hang up/.test(message)) return 'the server closed the connection without answering (socket hang up)';
      return `${networkCause(e)} [${code}]`;
    case 'other':
      return message || String(err);
  }
}
