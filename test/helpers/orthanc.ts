// A real Orthanc (Debian package, /usr/sbin/Orthanc 1.10.1) as the cloud PACS: DICOM over mutual TLS, its own
// storage in a temp folder, REST API on 127.0.0.1 to look at what it stored. One per test file. With `router`, it is
// instead a store-and-forward router (plain DICOM in, each stored instance forwarded over DICOM-TLS): the reference
// of test/bench/upload's push-to-cloud section.
import { freePort } from '../../agent/db/embedded-postgres';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TestPki } from './certificates';

export interface OrthancOptions {
  dir: string;
  pki: TestPki;
  aeTitle?: string;
  /** Modalities Orthanc knows (name -> AE title, host, port), e.g. the gateway for Storage Commitment. */
  modalities?: Record<string, [string, string, number]>;
  /** Require our client certificate (default true: mutual TLS). */
  remoteCertificateRequired?: boolean;
  /** Orthanc's DicomScpTimeout in seconds (its idle limit for an association; default 30). */
  scpTimeoutSeconds?: number;
  /** Store-and-forward router: receives plain DICOM and forwards every stored instance to this DICOM-TLS peer. */
  router?: OrthancRoute;
}

/** A DICOM-TLS peer Orthanc forwards to, presenting the PKI's client certificate. */
export interface OrthancRoute {
  host: string;
  port: number;
  aeTitle: string;
}

export interface Orthanc {
  aeTitle: string;
  dicomPort: number;
  httpPort: number;
  logFile: string;
  /** GET on the REST API, parsed JSON. */
  get<T = unknown>(urlPath: string): Promise<T>;
  /** Orthanc ids of the stored instances. */
  listInstances(): Promise<string[]>;
  /** The Part 10 file Orthanc stored for this instance (its own meta header + the dataset). */
  instanceFile(id: string): Promise<Buffer>;
  /** SOP Instance UID -> Orthanc id. */
  instancesBySopInstanceUid(): Promise<Map<string, string>>;
  log(): string;
  stop(): Promise<void>;
}

export async function startOrthanc(options: OrthancOptions): Promise<Orthanc> {
  const aeTitle = options.aeTitle ?? 'CLOUDPACS';
  const dicomPort = await freePort();
  const httpPort = await freePort();
  fs.mkdirSync(options.dir, { recursive: true });
  const storage = path.join(options.dir, 'storage');
  fs.mkdirSync(storage, { recursive: true });
  const config = {
    Name: 'gateway-test-cloud',
    StorageDirectory: storage,
    IndexDirectory: storage,
    StorageCompression: false,
    Plugins: [],
    HttpServerEnabled: true,
    HttpPort: httpPort,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    SslEnabled: false,
    DicomServerEnabled: true,
    DicomAet: aeTitle,
    DicomPort: dicomPort,
    DicomCheckCalledAet: true,
    DicomScpTimeout: options.scpTimeoutSeconds ?? 30,
    DicomAlwaysAllowStore: true,
    DicomAlwaysAllowEcho: true,
    DicomTlsEnabled: true,
    DicomTlsCertificate: options.pki.serverCertFile,
    DicomTlsPrivateKey: options.pki.serverKeyFile,
    DicomTlsTrustedCertificates: options.pki.caFile,
    DicomTlsRemoteCertificateRequired: options.remoteCertificateRequired ?? true,
    DicomModalities: options.modalities ?? {},
    // IngestTranscoding left unset: received files are kept in the transfer syntax they came in.
    OverwriteInstances: true,
    SaveJobs: false,
    ...(options.router ? routerConfig(options.dir, options.pki, options.router) : {}),
  };
  const configFile = path.join(options.dir, 'orthanc.json');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  const logFile = path.join(options.dir, 'orthanc.log');
  const out = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn('/usr/sbin/Orthanc', ['--verbose', configFile], {
    stdio: ['ignore', out, out],
    env: { ...process.env, TCP_NODELAY: '1' },
  });
  fs.closeSync(out);
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const base = `http://127.0.0.1:${httpPort}`;
  const get = async <T>(urlPath: string): Promise<T> => {
    const response = await fetch(`${base}${urlPath}`);
    if (!response.ok) throw new Error(`Orthanc GET ${urlPath}: HTTP ${response.status}`);
    return (await response.json()) as T;
  };
  const deadline = Date.now() + 30000;
  for (;;) {
    if (exited) throw new Error(`Orthanc exited at startup:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
    try {
      await get('/system');
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`Orthanc's REST API did not answer within 30 s:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  // No probe of the DICOM port: Orthanc starts its DICOM server before its REST API (and a bare TCP probe logs a TLS error).
  return {
    aeTitle,
    dicomPort,
    httpPort,
    logFile,
    get,
    listInstances: () => get<string[]>('/instances'),
    async instanceFile(id: string) {
      const response = await fetch(`${base}/instances/${id}/file`);
      if (!response.ok) throw new Error(`Orthanc GET /instances/${id}/file: HTTP ${response.status}`);
      return Buffer.from(await response.arrayBuffer());
    },
    async instancesBySopInstanceUid() {
      const map = new Map<string, string>();
      for (const id of await get<string[]>('/instances')) {
        const info = await get<{ MainDicomTags: { SOPInstanceUID: string } }>(`/instances/${id}`);
        map.set(info.MainDicomTags.SOPInstanceUID, id);
      }
      return map;
    },
    log: () => fs.readFileSync(logFile, 'utf8'),
    async stop() {
      if (exited) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/**
 * Orthanc as a store-and-forward router that never loses what it acknowledged, forwarding as fast as it can:
 * - SyncStorageArea: each received file is fsynced before Orthanc answers the C-STORE (its default since 1.7.4,
 *   set here so the reference stays durable whatever the version's default);
 * - plain DICOM from the modality (DicomTlsEnabled off for its SCP), DICOM-TLS to the peer (UseDicomTls, the
 *   PKI's client certificate for mutual TLS);
 * - forwarding from the Lua OnStoredInstance callback, the routing pattern Orthanc documents (the Autorouting.lua
 *   sample, without its Delete: the router keeps what it received), with SendToModality: Orthanc keeps that
 *   association open between calls (DicomAssociationCloseDelay), so the instances go one after another on one
 *   DICOM-TLS association, starting as soon as the first is stored: receive and forward overlap. One asynchronous
 *   store job per instance (POST /modalities/cloud/store, Asynchronous) was slower here: each job opens its own
 *   association (a TLS handshake per instance), two at a time (ConcurrentJobs);
 * - sent as received: no IngestTranscoding, AllowTranscoding off for the peer (a peer refusing the syntax gets an
 *   error, never a transcoded file), and the largest PDU Orthanc allows (MaximumPduLength 131072) for the modality's
 *   side.
 */
function routerConfig(dir: string, pki: TestPki, route: OrthancRoute): Record<string, unknown> {
  const script = path.join(dir, 'route.lua');
  fs.writeFileSync(script, "function OnStoredInstance(instanceId, tags, metadata, origin)\n  SendToModality(instanceId, 'cloud')\nend\n");
  return {
    SyncStorageArea: true,
    DicomTlsEnabled: false,
    DicomTlsCertificate: pki.clientCertFile,
    DicomTlsPrivateKey: pki.clientKeyFile,
    DicomTlsTrustedCertificates: pki.caFile,
    DicomModalities: { cloud: { AET: route.aeTitle, Host: route.host, Port: route.port, UseDicomTls: true, AllowTranscoding: false } },
    LuaScripts: [script],
    DicomAssociationCloseDelay: 5,
    MaximumPduLength: 131072,
  };
}
