import path from 'node:path';
import { ConfigError } from '../config/config-error';
import type { UpstreamConfig } from '../config/upstream-config';
import { address, addressList, boolean, integer, object, only, optionalObject, string } from '../config/validate';

/** A TLS listener's files (the MLLP listener's, like the DICOM-TLS one's). */
export interface ListenerTls {
  certFile: string;
  keyFile: string;
  caFile?: string;
  requireClientCertificate: boolean;
}

/** The HL7 v2 interface: MLLP in from the RIS/EMR, HL7 over HTTPS to the cloud, reports back to the EMR. */
export interface Hl7Config extends Hl7Cloud {
  port: number;
  /** Default: the top-level bindAddress. */
  bindAddress?: string;
  /** MLLP over TLS on hl7.port instead of plain MLLP. */
  tls?: ListenerTls;
  /** When non-empty, only these source addresses or CIDR blocks may connect. */
  allowedSourceAddresses: string[];
  maxConnectionsPerAddress: number;
  maxMessageBytes: number;
  /** A connection with no traffic for this long is closed. */
  idleTimeoutSeconds: number;
  /** How long one request for reports waits for the cloud to have one (long poll). */
  pollSeconds: number;
  /** The EMR's MLLP endpoint for reports; absent = no reports are fetched. */
  deliverTo?: { host: string; port: number; tls?: { caFile?: string; certFile?: string; keyFile?: string }; ackTimeoutSeconds: number };
}

/**
 * What the HTTPS client needs of the cloud: url, the cloud's HL7 endpoint (https://; messages are POSTed to it,
 * reports fetched from <url>/outbox), and the hl7 keys that default to upstream's (in Hl7Config unset = upstream's:
 * the same proxy, CA, client certificate and token as the uploads).
 */
export interface Hl7Cloud {
  url: string;
  token?: string;
  proxy?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export function parseHl7(value: unknown, baseDir: string): Hl7Config | undefined {
  if (value === undefined) return undefined;
  const raw = object(value, 'hl7');
  only(raw, 'hl7.', [
    'port',
    'bindAddress',
    'tls',
    'allowedSourceAddresses',
    'maxConnectionsPerAddress',
    'maxMessageBytes',
    'idleTimeoutSeconds',
    'url',
    'token',
    'proxy',
    'caFile',
    'certFile',
    'keyFile',
    'pollSeconds',
    'deliverTo',
  ]);
  const file = (from: Record<string, unknown>, key: string, prefix: string) => (from[key] === undefined ? undefined : path.resolve(baseDir, string(from[key], `${prefix}${key}`)));
  const url = string(raw.url, 'hl7.url');
  if (!/^https:\/\//.test(url)) throw new ConfigError('hl7.url must be an https:// URL (the cloud endpoint HL7 messages are POSTed to)');
  const config: Hl7Config = {
    port: integer(raw.port ?? 2575, 'hl7.port', 1, 65535),
    bindAddress: raw.bindAddress === undefined ? undefined : address(raw.bindAddress, 'hl7.bindAddress'),
    allowedSourceAddresses: addressList(raw.allowedSourceAddresses, 'hl7.allowedSourceAddresses'),
    maxConnectionsPerAddress: integer(raw.maxConnectionsPerAddress ?? 8, 'hl7.maxConnectionsPerAddress', 1, 1000),
    maxMessageBytes: integer(raw.maxMessageBytes ?? 16 * 1024 * 1024, 'hl7.maxMessageBytes', 1024, 256 * 1024 * 1024),
    idleTimeoutSeconds: integer(raw.idleTimeoutSeconds ?? 300, 'hl7.idleTimeoutSeconds', 1, 86400),
    url: url.replace(/\/+$/, ''),
    token: raw.token === undefined ? undefined : string(raw.token, 'hl7.token'),
    proxy: raw.proxy === undefined ? undefined : string(raw.proxy, 'hl7.proxy'),
    caFile: file(raw, 'caFile', 'hl7.'),
    certFile: file(raw, 'certFile', 'hl7.'),
    keyFile: file(raw, 'keyFile', 'hl7.'),
    pollSeconds: integer(raw.pollSeconds ?? 30, 'hl7.pollSeconds', 1, 300),
  };
  if ((config.certFile === undefined) !== (config.keyFile === undefined)) throw new ConfigError('hl7.certFile and hl7.keyFile go together');
  if (config.proxy !== undefined && !/^http:\/\//.test(config.proxy)) throw new ConfigError('hl7.proxy must be an http:// proxy (HTTP CONNECT)');
  if (raw.tls !== undefined) {
    const tls = object(raw.tls, 'hl7.tls');
    only(tls, 'hl7.tls.', ['certFile', 'keyFile', 'caFile', 'requireClientCertificate']);
    config.tls = {
      certFile: path.resolve(baseDir, string(tls.certFile, 'hl7.tls.certFile')),
      keyFile: path.resolve(baseDir, string(tls.keyFile, 'hl7.tls.keyFile')),
      caFile: file(tls, 'caFile', 'hl7.tls.'),
      requireClientCertificate: boolean(tls.requireClientCertificate ?? false, 'hl7.tls.requireClientCertificate'),
    };
    if (config.tls.requireClientCertificate && !config.tls.caFile) throw new ConfigError('hl7.tls.requireClientCertificate needs hl7.tls.caFile');
  }
  if (raw.deliverTo !== undefined) {
    const to = object(raw.deliverTo, 'hl7.deliverTo');
    only(to, 'hl7.deliverTo.', ['host', 'port', 'tls', 'ackTimeoutSeconds']);
    const tls = to.tls === undefined ? undefined : optionalObject(to.tls, 'hl7.deliverTo.tls');
    if (tls) only(tls, 'hl7.deliverTo.tls.', ['caFile', 'certFile', 'keyFile']);
    config.deliverTo = {
      host: string(to.host, 'hl7.deliverTo.host'),
      port: integer(to.port, 'hl7.deliverTo.port', 1, 65535),
      tls: tls && { caFile: file(tls, 'caFile', 'hl7.deliverTo.tls.'), certFile: file(tls, 'certFile', 'hl7.deliverTo.tls.'), keyFile: file(tls, 'keyFile', 'hl7.deliverTo.tls.') },
      ackTimeoutSeconds: integer(to.ackTimeoutSeconds ?? 30, 'hl7.deliverTo.ackTimeoutSeconds', 1, 3600),
    };
  }
  return config;
}

/** The cloud's HL7 endpoint with the settings hl7 leaves unset taken from upstream (read after secrets are merged). */
export function hl7Cloud(hl7: Hl7Config, upstream: UpstreamConfig | undefined): Hl7Cloud {
  return {
    url: hl7.url,
    token: hl7.token ?? upstream?.token,
    proxy: hl7.proxy ?? upstream?.proxy,
    caFile: hl7.caFile ?? upstream?.caFile,
    certFile: hl7.certFile ?? upstream?.certFile,
    keyFile: hl7.keyFile ?? upstream?.keyFile,
  };
}
