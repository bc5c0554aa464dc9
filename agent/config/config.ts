import fs from 'node:fs';
import path from 'node:path';
import { aeTitleProblem } from './ae-title';
import { ConfigError } from './config-error';
import { address, addressList, boolean, integer, object, only, optionalObject, string, stringList } from './validate';
import { parseHl7, type Hl7Config } from '../hl7/hl7-config';
import { parseCompression, type CompressionConfig } from '../compress/rules';
import { withPassword } from '../db/database-url';
import { readSecrets, withSecrets } from './secrets';
import { parseStudies, parseUpload, parseUpstream, type StudiesConfig, type UploadConfig, type UpstreamConfig } from './upstream-config';
import { DEFAULT_API_PORT } from '../api/types';
import type { RetentionConfig } from '../studies/retention';

/** The agent's whole configuration, as validated from one JSON file. */
export interface GatewayConfig {
  /** The licensed AE title, case-sensitive. */
  aeTitle: string;
  port: number;
  bindAddress: string;
  /** Spool, embedded database, logs and API token live here. Relative paths are resolved against the config file. */
  dataDir: string;
  database: {
    /** An external PostgreSQL; absent means the agent runs its own embedded server in dataDir. */
    url?: string;
    /** Port of the embedded server on 127.0.0.1; 0 picks a free one at each start. */
    embeddedPort: number;
  };
  /** Optional DICOM-TLS listener beside the plain one. */
  tls?: {
    port: number;
    certFile: string;
    keyFile: string;
    caFile?: string;
    requireClientCertificate: boolean;
    /** Storage Commitment reports from the cloud also on the plain port (by default only on this listener). */
    commitmentReportsOnPlainPort: boolean;
    /**
     * When set, a client certificate's subject common name (CN) decides which calling AE titles may associate with
     * it; a certificate whose CN is not listed is refused. Associations without a certificate are not affected.
     */
    clientCertificateAeTitles?: Record<string, string[]>;
  };
  /** When non-empty, only these calling AE titles may associate (exact, case-sensitive). */
  allowedCallingAeTitles: string[];
  /** When non-empty, only these source addresses or CIDR blocks may connect. */
  allowedSourceAddresses: string[];
  /**
   * Who the Windows Firewall rule admits (LocalSubnet, Any, addresses, subnets, ranges), as Install-DicomGateway
   * set it; the module's later checks read it from here. The agent does not use it.
   */
  firewall: { remoteAddresses: string[] };
  limits: {
    maxAssociations: number;
    /** Largest PDU we accept and advertise (bytes). */
    maxPduLength: number;
    /** An association with no traffic for this long is aborted. */
    idleTimeoutSeconds: number;
    /** A PDU that has started must be complete within this long. */
    pduTimeoutSeconds: number;
    /** A new connection must deliver its association request within this long. */
    firstPduTimeoutSeconds: number;
    /** Connections one source address may hold open at once (so one host cannot take every slot). */
    maxAssociationsPerAddress: number;
    /** The budget of a dataset that is not a C-STORE's (C-ECHO, N-EVENT-REPORT, C-FIND...), held in memory whole. */
    maxMessageDatasetKb: number;
    /** Below this much free space in dataDir, new C-STOREs are refused with A700. */
    minFreeDiskMb: number;
  };
  log: {
    level: 'error' | 'warn' | 'info' | 'debug';
    /** Days of rotated log files to keep. */
    keepDays: number;
  };
  /** The HL7 v2 interface (MLLP listener, HL7 over HTTPS, reports back); absent = off. */
  hl7?: Hl7Config;
  /** The cloud PACS; absent = receive and keep only (nothing is uploaded). */
  upstream?: UpstreamConfig;
  upload: UploadConfig;
  studies: StudiesConfig;
  /** When confirmed studies leave the local disk. */
  retention: RetentionConfig;
  /** Compression rules between spool and upload (reloaded from the file while running). */
  compression: CompressionConfig;
  /** The file this configuration was read from, when it was (the compressor reloads its rules from it). */
  configFile?: string;
  /** The local API and status page, on 127.0.0.1 only. */
  api: {
    /** 0 picks a free port at each start (tests); the port in use is in the runtime file. */
    port: number;
    /** The upstream unreachable for longer than this turns the state red (amber before). */
    upstreamAlertMinutes: number;
  };
}

export { ConfigError };

const DEFAULTS = {
  port: 4104,
  bindAddress: '0.0.0.0',
  limits: {
    maxAssociations: 32,
    maxPduLength: 262144,
    idleTimeoutSeconds: 120,
    pduTimeoutSeconds: 60,
    firstPduTimeoutSeconds: 10,
    maxAssociationsPerAddress: 8,
    maxMessageDatasetKb: 1024,
    minFreeDiskMb: 2048,
  },
  log: { level: 'info', keepDays: 30 },
  retention: { keepDays: 14, freeDiskTargetMb: 20480 },
  api: { port: DEFAULT_API_PORT, upstreamAlertMinutes: 15 },
} as const;

/**
 * Reads and validates a configuration file; every error names the file and the bad key. The upstream's token
 * and proxy password, and the password database.url leaves out, come from <dataDir>/secrets.json when it holds
 * them (see secrets.ts), unless `secrets: false`.
 */
export function loadConfig(file: string, options: { secrets?: boolean } = {}): GatewayConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read configuration ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`configuration ${file} is not valid JSON: ${(err as Error).message}`);
  }
  try {
    const config: GatewayConfig = { ...parseConfig(raw, path.dirname(path.resolve(file))), configFile: path.resolve(file) };
    if (options.secrets !== false && (config.upstream || config.database.url)) {
      const secrets = readSecrets(config.dataDir);
      if (config.upstream) config.upstream = withSecrets(config.upstream, secrets);
      if (config.database.url) config.database.url = withPassword(config.database.url, secrets['database.password']);
    }
    return config;
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`configuration ${file}: ${err.message}`);
    throw err;
  }
}

/** Validates a parsed configuration object; relative paths resolve against baseDir. */
export function parseConfig(raw: unknown, baseDir: string): GatewayConfig {
  const root = object(raw, '(top level)');
  only(root, '', [
    'aeTitle',
    'port',
    'bindAddress',
    'dataDir',
    'database',
    'tls',
    'allowedCallingAeTitles',
    'allowedSourceAddresses',
    'firewall',
    'limits',
    'log',
    'upstream',
    'upload',
    'studies',
    'api',
    'compression',
    'retention',
    'hl7',
  ]);

  const aeProblem = aeTitleProblem(root.aeTitle);
  if (root.aeTitle === undefined) throw new ConfigError('aeTitle is required (the licensed, case-sensitive AE title)');
  if (aeProblem) throw new ConfigError(`aeTitle ${JSON.stringify(root.aeTitle)} ${aeProblem}`);

  const database = optionalObject(root.database, 'database');
  only(database, 'database.', ['url', 'embeddedPort']);
  const limits = optionalObject(root.limits, 'limits');
  only(limits, 'limits.', Object.keys(DEFAULTS.limits));
  const log = optionalObject(root.log, 'log');
  only(log, 'log.', ['level', 'keepDays']);
  const retention = optionalObject(root.retention, 'retention');
  only(retention, 'retention.', Object.keys(DEFAULTS.retention));
  const api = optionalObject(root.api, 'api');
  only(api, 'api.', Object.keys(DEFAULTS.api));
  const firewall = optionalObject(root.firewall, 'firewall');
  only(firewall, 'firewall.', ['remoteAddresses']);

  const config: GatewayConfig = {
    aeTitle: root.aeTitle as string,
    port: port(root.port ?? DEFAULTS.port, 'port'),
    bindAddress: address(root.bindAddress ?? DEFAULTS.bindAddress, 'bindAddress'),
    dataDir: path.resolve(baseDir, string(root.dataDir, 'dataDir')),
    database: {
      url: database.url === undefined ? undefined : postgresUrl(database.url, 'database.url'),
      embeddedPort: database.embeddedPort === undefined ? 0 : integer(database.embeddedPort, 'database.embeddedPort', 0, 65535),
    },
    allowedCallingAeTitles: aeTitleList(root.allowedCallingAeTitles, 'allowedCallingAeTitles'),
    allowedSourceAddresses: addressList(root.allowedSourceAddresses, 'allowedSourceAddresses'),
    firewall: { remoteAddresses: stringList(firewall.remoteAddresses, 'firewall.remoteAddresses') },
    limits: {
      maxAssociations: integer(limits.maxAssociations ?? DEFAULTS.limits.maxAssociations, 'limits.maxAssociations', 1, 1000),
      maxPduLength: integer(limits.maxPduLength ?? DEFAULTS.limits.maxPduLength, 'limits.maxPduLength', 4096, 16 * 1024 * 1024),
      idleTimeoutSeconds: integer(limits.idleTimeoutSeconds ?? DEFAULTS.limits.idleTimeoutSeconds, 'limits.idleTimeoutSeconds', 1, 86400),
      pduTimeoutSeconds: integer(limits.pduTimeoutSeconds ?? DEFAULTS.limits.pduTimeoutSeconds, 'limits.pduTimeoutSeconds', 1, 86400),
      firstPduTimeoutSeconds: integer(limits.firstPduTimeoutSeconds ?? DEFAULTS.limits.firstPduTimeoutSeconds, 'limits.firstPduTimeoutSeconds', 1, 3600),
      maxAssociationsPerAddress: integer(limits.maxAssociationsPerAddress ?? DEFAULTS.limits.maxAssociationsPerAddress, 'limits.maxAssociationsPerAddress', 1, 1000),
      maxMessageDatasetKb: integer(limits.maxMessageDatasetKb ?? DEFAULTS.limits.maxMessageDatasetKb, 'limits.maxMessageDatasetKb', 1, 1024 * 1024),
      minFreeDiskMb: integer(limits.minFreeDiskMb ?? DEFAULTS.limits.minFreeDiskMb, 'limits.minFreeDiskMb', 0, 1e9),
    },
    log: {
      level: oneOf(log.level ?? DEFAULTS.log.level, 'log.level', ['error', 'warn', 'info', 'debug'] as const),
      keepDays: integer(log.keepDays ?? DEFAULTS.log.keepDays, 'log.keepDays', 1, 3650),
    },
    upstream: parseUpstream(root.upstream, baseDir),
    hl7: parseHl7(root.hl7, baseDir),
    upload: parseUpload(root.upload),
    studies: parseStudies(root.studies),
    compression: parseCompression(root.compression),
    retention: {
      keepDays: integer(retention.keepDays ?? DEFAULTS.retention.keepDays, 'retention.keepDays', 0, 36500),
      freeDiskTargetMb: integer(retention.freeDiskTargetMb ?? DEFAULTS.retention.freeDiskTargetMb, 'retention.freeDiskTargetMb', 0, 1 << 30),
    },
    api: {
      port: integer(api.port ?? DEFAULTS.api.port, 'api.port', 0, 65535),
      upstreamAlertMinutes: integer(api.upstreamAlertMinutes ?? DEFAULTS.api.upstreamAlertMinutes, 'api.upstreamAlertMinutes', 1, 10080),
    },
  };

  if (root.tls !== undefined) {
    const tls = object(root.tls, 'tls');
    only(tls, 'tls.', ['port', 'certFile', 'keyFile', 'caFile', 'requireClientCertificate', 'commitmentReportsOnPlainPort', 'clientCertificateAeTitles']);
    config.tls = {
      port: port(tls.port, 'tls.port'),
      certFile: path.resolve(baseDir, string(tls.certFile, 'tls.certFile')),
      keyFile: path.resolve(baseDir, string(tls.keyFile, 'tls.keyFile')),
      caFile: tls.caFile === undefined ? undefined : path.resolve(baseDir, string(tls.caFile, 'tls.caFile')),
      requireClientCertificate: boolean(tls.requireClientCertificate ?? false, 'tls.requireClientCertificate'),
      commitmentReportsOnPlainPort: boolean(tls.commitmentReportsOnPlainPort ?? false, 'tls.commitmentReportsOnPlainPort'),
      clientCertificateAeTitles: tls.clientCertificateAeTitles === undefined ? undefined : certificateAeTitles(tls.clientCertificateAeTitles),
    };
    if (config.tls.clientCertificateAeTitles && !config.tls.caFile) throw new ConfigError('tls.clientCertificateAeTitles needs tls.caFile (only verified certificates are mapped)');
    if (config.tls.requireClientCertificate && !config.tls.caFile) {
      throw new ConfigError("tls.requireClientCertificate needs tls.caFile (the CA that signs the senders' certificates)");
    }
    if (config.tls.port === config.port) throw new ConfigError(`tls.port ${config.tls.port} is the same as port`);
  }
  if (config.api.port !== 0 && (config.api.port === config.port || config.api.port === config.tls?.port)) {
    throw new ConfigError(`api.port ${config.api.port} is the same as a DICOM port`);
  }
  if (config.hl7 && [config.port, config.tls?.port, config.api.port].includes(config.hl7.port)) throw new ConfigError(`hl7.port ${config.hl7.port} is the same as a DICOM or API port`);
  return config;
}

function port(value: unknown, key: string): number {
  return integer(value, key, 1, 65535);
}

function oneOf<T extends string>(value: unknown, key: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw new ConfigError(`${key} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
  return value as T;
}

function postgresUrl(value: unknown, key: string): string {
  const text = string(value, key);
  if (!/^postgres(ql)?:\/\//.test(text)) throw new ConfigError(`${key} must be a postgres:// URL`);
  return text;
}

/** The configuration `gateway init` writes: every default spelled out so an administrator sees what can be changed. */
export function initialConfig(aeTitle: string, port: number, dataDir: string): Record<string, unknown> {
  return {
    aeTitle,
    port,
    bindAddress: DEFAULTS.bindAddress,
    dataDir,
    allowedCallingAeTitles: [],
    allowedSourceAddresses: [],
    limits: { ...DEFAULTS.limits },
    log: { ...DEFAULTS.log },
    retention: { ...DEFAULTS.retention },
    api: { ...DEFAULTS.api },
    compression: { ...parseCompression(undefined) },
  };
}

function aeTitleList(value: unknown, key: string): string[] {
  return stringList(value, key).map((title, i) => {
    const problem = aeTitleProblem(title);
    if (problem) throw new ConfigError(`${key}[${i}] ${JSON.stringify(title)} ${problem}`);
    return title;
  });
}

/** tls.clientCertificateAeTitles: { "<certificate CN>": ["<calling AE title>", ...] }. */
function certificateAeTitles(value: unknown): Record<string, string[]> {
  const map = object(value, 'tls.clientCertificateAeTitles');
  return Object.fromEntries(Object.entries(map).map(([cn, titles]) => [cn, aeTitleList(titles, `tls.clientCertificateAeTitles.${cn}`)]));
}
