// DICOM over TLS to the cloud PACS: our own small C-STORE SCU (PS3.8 upper layer, PS3.7 C-STORE), so the dataset
// bytes leave exactly as they were received and spooled. The dcmjs-dimse Client sends a dcmjs Dataset (it
// re-encodes: drops private tags, rewrites character sets, see DESIGN.md "spool"); sending raw bytes through it
// would mean overriding more of its internals. Here the spool file's dataset is read from disk in chunks and
// written in P-DATA PDUs up to the peer's maximum PDU length, with socket backpressure and the pacer respected.
import fs from 'node:fs';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../version';
import type net from 'node:net';
import tls from 'node:tls';
import { PduReader, encodeCommandSet } from '../receive/pdu-path';
import type { UpstreamConfig } from '../config/upstream-config';
import { openTunnel } from './proxy-tunnel';
import { describeTlsFailure, keepPeerCertificateOnError, tlsOptions } from './tls-failure';
import { readAhead, SOCKET_IN_FLIGHT_BYTES, type BatchOutcome, type CommitmentRequestOutcome, type OutgoingInstance, type Pacer, type Transport } from './transport';
import {
  IMPLICIT_VR_LITTLE_ENDIAN,
  STORAGE_COMMITMENT_PUSH_MODEL,
  STORAGE_COMMITMENT_SOP_INSTANCE,
  encodeCommitmentDataset,
  parseCommitmentReport,
  type CommitmentReport,
  type SopReference,
} from './commitment-dataset';

// ---------------------------------------------------------------------------------------------------------------
// PDU encoding and decoding (PS3.8 9.3), shared with test/helpers/raw-store-scu.ts

/** One presentation context to propose: an abstract syntax and the transfer syntaxes offered for it. */
export interface ProposedContext {
  abstractSyntax: string;
  transferSyntaxes: string[];
}

export interface NegotiatedContext {
  id: number;
  abstractSyntax: string;
  /** Undefined when the context was rejected. */
  transferSyntax?: string;
  /** PS3.8 9.3.3.2 result: 0 acceptance, 1 user rejection, 2 no reason, 3 abstract syntax not supported, 4 transfer syntaxes not supported. */
  result: number;
}

const APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';

function item(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header[0] = type;
  header.writeUInt16BE(body.length, 2);
  return Buffer.concat([header, body]);
}

function uidItem(type: number, value: string): Buffer {
  return item(type, Buffer.from(value, 'latin1'));
}

/** An A-ASSOCIATE-RQ PDU (PS3.8 9.3.2) proposing these contexts, with ids 1, 3, 5... */
export function associateRequest(calledAe: string, callingAe: string, contexts: ProposedContext[], maxPduLength = 65536): Buffer {
  const ae = (title: string) => Buffer.from(title.padEnd(16, ' ').slice(0, 16), 'latin1');
  const maxLength = Buffer.alloc(4);
  maxLength.writeUInt32BE(maxPduLength);
  const variable = Buffer.concat([
    uidItem(0x10, APPLICATION_CONTEXT),
    ...contexts.map((context, i) =>
      item(0x20, Buffer.concat([Buffer.from([1 + 2 * i, 0, 0, 0]), uidItem(0x30, context.abstractSyntax), ...context.transferSyntaxes.map((ts) => uidItem(0x40, ts))])),
    ),
    item(0x50, Buffer.concat([item(0x51, maxLength), uidItem(0x52, IMPLEMENTATION_CLASS_UID), uidItem(0x55, IMPLEMENTATION_VERSION_NAME)])),
  ]);
  const fixed = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00]), ae(calledAe), ae(callingAe), Buffer.alloc(32)]);
  const header = Buffer.alloc(6);
  header[0] = 0x01;
  header.writeUInt32BE(fixed.length + variable.length, 2);
  return Buffer.concat([header, fixed, variable]);
}

/** Parses an A-ASSOCIATE-AC PDU (whole PDU, header included) against the contexts that were proposed. */
export function parseAssociateAccept(pdu: Buffer, proposed: ProposedContext[]): { contexts: NegotiatedContext[]; maxPduLength: number } {
  const contexts: NegotiatedContext[] = [];
  let maxPduLength = 0;
  let pos = 74;
  while (pos + 4 <= pdu.length) {
    const type = pdu[pos];
    const length = pdu.readUInt16BE(pos + 2);
    if (type === 0x21) {
      const id = pdu[pos + 4];
      const result = pdu[pos + 6];
      let transferSyntax: string | undefined;
      if (length > 4 && pdu[pos + 8] === 0x40) {
        const tsLength = pdu.readUInt16BE(pos + 10);
        transferSyntax = pdu.toString('latin1', pos + 12, pos + 12 + tsLength).replace(/[\0 ]+$/, '');
      }
      const proposal = proposed[(id - 1) / 2];
      if (proposal) contexts.push({ id, abstractSyntax: proposal.abstractSyntax, transferSyntax: result === 0 ? transferSyntax : undefined, result });
    } else if (type === 0x50) {
      for (let sub = pos + 4; sub + 4 <= pos + 4 + length; sub += 4 + pdu.readUInt16BE(sub + 2)) {
        if (pdu[sub] === 0x51) maxPduLength = pdu.readUInt32BE(sub + 4);
      }
    }
    pos += 4 + length;
  }
  return { contexts, maxPduLength };
}

/** The header of a P-DATA-TF PDU holding one PDV of `valueLength` bytes (PS3.8 9.3.5). */
export function pDataHeader(contextId: number, valueLength: number, command: boolean, last: boolean): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x04;
  header.writeUInt32BE(6 + valueLength, 2);
  header.writeUInt32BE(2 + valueLength, 6);
  header[10] = contextId;
  header[11] = (command ? 0x01 : 0x00) | (last ? 0x02 : 0x00);
  return header;
}

export function pDataPdu(contextId: number, value: Buffer, command: boolean, last: boolean): Buffer {
  return Buffer.concat([pDataHeader(contextId, value.length, command, last), value]);
}

export const A_RELEASE_RQ = Buffer.from([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
export const A_RELEASE_RP = Buffer.from([0x06, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
export function abortPdu(source = 0, reason = 0): Buffer {
  return Buffer.from([0x07, 0, 0, 0, 0, 4, 0, 0, source, reason]);
}

/** The PDVs of a P-DATA-TF PDU (PS3.8 9.3.5): presentation context, command or dataset, last fragment or not. */
export function presentationDataValues(pdu: Buffer): Array<{ contextId: number; command: boolean; last: boolean; value: Buffer }> {
  const values: Array<{ contextId: number; command: boolean; last: boolean; value: Buffer }> = [];
  for (let pos = 6; pos + 6 <= pdu.length; ) {
    const itemLength = pdu.readUInt32BE(pos);
    const control = pdu[pos + 5];
    values.push({ contextId: pdu[pos + 4], command: (control & 0x01) !== 0, last: (control & 0x02) !== 0, value: pdu.subarray(pos + 6, pos + 4 + itemLength) });
    pos += 4 + itemLength;
  }
  return values;
}

/** The command-set fragments in a P-DATA-TF PDU, and whether the last of the command is among them. */
export function commandFragments(pdu: Buffer): { parts: Buffer[]; last: boolean } {
  const commands = presentationDataValues(pdu).filter((pdv) => pdv.command);
  return { parts: commands.map((pdv) => pdv.value), last: commands.some((pdv) => pdv.last) };
}

export interface CommandSet {
  commandField?: number;
  status?: number;
  errorComment?: string;
  messageId?: number;
  messageIdBeingRespondedTo?: number;
  affectedSopClassUid?: string;
  affectedSopInstanceUid?: string;
  /** (0000,0800): 0x0101 when no dataset follows. */
  commandDataSetType?: number;
  eventTypeId?: number;
}

/** Reads the elements of a command set (implicit VR little endian) that responses and N-EVENT-REPORT requests carry. */
export function parseCommandSet(commandSet: Buffer): CommandSet {
  const out: CommandSet = {};
  for (let pos = 0; pos + 8 <= commandSet.length; ) {
    const group = commandSet.readUInt16LE(pos);
    const element = commandSet.readUInt16LE(pos + 2);
    const length = commandSet.readUInt32LE(pos + 4);
    const value = commandSet.subarray(pos + 8, pos + 8 + length);
    const text = () => value.toString('latin1').replace(/[\0 ]+$/, '');
    if (group === 0x0000 && length === 2) {
      if (element === 0x0900) out.status = value.readUInt16LE(0);
      else if (element === 0x0100) out.commandField = value.readUInt16LE(0);
      else if (element === 0x0110) out.messageId = value.readUInt16LE(0);
      else if (element === 0x0120) out.messageIdBeingRespondedTo = value.readUInt16LE(0);
      else if (element === 0x0800) out.commandDataSetType = value.readUInt16LE(0);
      else if (element === 0x1002) out.eventTypeId = value.readUInt16LE(0);
    }
    if (group === 0x0000) {
      if (element === 0x0902) out.errorComment = text();
      else if (element === 0x0002) out.affectedSopClassUid = text();
      else if (element === 0x1000) out.affectedSopInstanceUid = text();
    }
    pos += 8 + length;
  }
  return out;
}

/** The Status (0000,0900) of a command set. */
export function statusOf(commandSet: Buffer): number {
  const status = parseCommandSet(commandSet).status;
  if (status === undefined) throw new Error('response without a status');
  return status;
}

// ---------------------------------------------------------------------------------------------------------------
// What the cloud's answers mean

/** A C-STORE-RSP status (PS3.4 B.2.3, PS3.7 C): delivered, or failed transiently / permanently, in words. */
export function classifyStoreStatus(status: number): { delivered: boolean; permanent: boolean; meaning: string } {
  const hex = `0x${status.toString(16).toUpperCase().padStart(4, '0')}`;
  const ok = (meaning: string) => ({ delivered: true, permanent: false, meaning: `${hex} ${meaning}` });
  const transient = (meaning: string) => ({ delivered: false, permanent: false, meaning: `${hex} ${meaning}` });
  const permanent = (meaning: string) => ({ delivered: false, permanent: true, meaning: `${hex} ${meaning}` });
  if (status === 0x0000) return ok('success');
  if (status === 0xb000) return ok('warning: coercion of data elements');
  if (status === 0xb006) return ok('warning: elements discarded');
  if (status === 0xb007) return ok('warning: data set does not match SOP class');
  if (status === 0x0001 || status === 0x0107 || status === 0x0116 || (status & 0xf000) === 0xb000) return ok('warning');
  if ((status & 0xff00) === 0xa700) return transient('refused: out of resources (the cloud is full or busy)');
  if ((status & 0xff00) === 0xa900) return permanent('error: data set does not match SOP class');
  if ((status & 0xf000) === 0xc000) return permanent('error: cannot understand (the cloud could not parse this instance)');
  switch (status) {
    case 0x0122:
      return permanent('refused: SOP class not supported by the cloud');
    case 0x0111:
      return permanent('duplicate SOP instance (the cloud refuses to replace it)');
    case 0x0117:
      return permanent('invalid SOP instance');
    case 0x0211:
    case 0x0212:
      return permanent('error: the cloud did not accept the request');
    case 0x0110:
      return transient('processing failure on the cloud');
    case 0x0124:
      return transient('refused: not authorized (ask the cloud provider to allow this gateway)');
    case 0x0213:
      return transient('resource limitation on the cloud');
    case 0x0210:
      return transient('duplicate invocation');
    case 0xfe00:
      return transient('cancelled');
    default:
      // An unknown failure is retried (with backoff): never lose an instance to a status we do not know.
      return transient((status & 0xf000) === 0xa000 ? 'refused' : 'failure');
  }
}

/** The reason of an A-ASSOCIATE-RJ (PS3.8 9.3.4), with the fix a support engineer would try. */
export function describeAssociateReject(result: number, source: number, reason: number, calledAe: string, callingAe: string): string {
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

// ---------------------------------------------------------------------------------------------------------------
// The association

class AssociationError extends Error {
  constructor(message: string, readonly phase: 'connect' | 'associate' | 'transfer') {
    super(message);
    this.name = 'AssociationError';
  }
}

interface ContextEntry {
  id: number;
  accepted: boolean;
  result: number;
}

const contextKey = (sopClassUid: string, transferSyntaxUid: string) => `${sopClassUid}\u0000${transferSyntaxUid}`;
const COMMITMENT_CONTEXT = contextKey(STORAGE_COMMITMENT_PUSH_MODEL, IMPLICIT_VR_LITTLE_ENDIAN);

/** Our maximum PDU length (what the peer may send us; responses are tiny). */
const OUR_MAX_PDU = 65536;
/** Cap on one PDV's data when the peer sets no maximum (0 = unlimited). */
const UNLIMITED_PDV = 1024 * 1024;
/** Bytes read from the spool file at once (cut into PDUs of the peer's size). */
const READ_CHUNK = 1024 * 1024;
const MAX_CONTEXTS = 128;
const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';

class Association {
  private readonly reader = new PduReader();
  private readonly pdus: Buffer[] = [];
  private waiter?: () => void;
  closed?: string;
  readonly contexts = new Map<string, ContextEntry>();
  maxPduLength = 0;
  private messageId = 0;
  lastUsed = Date.now();
  /** Instances stored over this association. */
  stored = 0;
  /** Called when the peer sends a PDU while nobody waits for one (a Storage Commitment report between batches). */
  onUnexpectedPdu?: () => void;

  constructor(private readonly socket: tls.TLSSocket, private readonly describeError: (err: NodeJS.ErrnoException) => string) {
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      for (let next = this.reader.header(); next && this.reader.buffered >= next.length + 6; next = this.reader.header()) {
        if (next.type < 1 || next.type > 7 || next.length > 16 * 1024 * 1024) {
          this.fail(`the cloud sent an invalid PDU (type ${next.type}, ${next.length} bytes)`);
          socket.destroy();
          return;
        }
        this.pdus.push(Buffer.from(this.reader.take(next.length + 6)));
      }
      if (!this.waiter && this.pdus.length > 0) this.onUnexpectedPdu?.();
      this.wake();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(this.describeError(err)));
    socket.on('close', () => this.fail('the cloud closed the connection'));
    socket.on('drain', () => this.wake());
  }

  get usable(): boolean {
    return this.closed === undefined && !this.socket.destroyed;
  }

  private fail(reason: string): void {
    this.closed ??= reason;
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private wait(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(false);
      }, timeoutMs);
      this.waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  /** The next PDU from the peer, within timeoutMs; an A-ABORT or a closed connection is an error. */
  async nextPdu(timeoutMs: number, waitingFor: string): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pdu = this.pdus.shift();
      if (pdu) {
        if (pdu[0] === 0x07) {
          this.closed ??= `the cloud aborted the association (A-ABORT source ${pdu[8]}, reason ${pdu[9]})`;
          this.socket.destroy();
          throw new AssociationError(`${this.closed} while we waited for ${waitingFor}`, 'transfer');
        }
        return pdu;
      }
      if (this.closed) throw new AssociationError(`${this.closed} while we waited for ${waitingFor}`, 'transfer');
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.wait(left))) {
        if (this.pdus.length > 0) continue;
        this.abort(`no answer within ${seconds(timeoutMs)}`);
        throw new AssociationError(`the cloud did not answer within ${seconds(timeoutMs)} (waiting for ${waitingFor}); the association was aborted`, 'transfer');
      }
    }
  }

  /** True when the peer sent a PDU nobody has read yet. */
  get hasPdu(): boolean {
    return this.pdus.length > 0;
  }

  /** The next DIMSE message: its command set, and its dataset when the command announces one. */
  async nextMessage(timeoutMs: number, waitingFor: string): Promise<{ contextId: number; command: CommandSet; dataset?: Buffer }> {
    const command: Buffer[] = [];
    const dataset: Buffer[] = [];
    let contextId = 0;
    let parsed: CommandSet | undefined;
    for (;;) {
      const pdu = await this.nextPdu(timeoutMs, waitingFor);
      if (pdu[0] !== 0x04) {
        this.abort('unexpected PDU');
        throw new AssociationError(`the cloud sent PDU type ${pdu[0]} while we waited for ${waitingFor}`, 'transfer');
      }
      for (const pdv of presentationDataValues(pdu)) {
        contextId = pdv.contextId;
        (pdv.command ? command : dataset).push(pdv.value);
        if (pdv.command && pdv.last) parsed = parseCommandSet(Buffer.concat(command));
        // A command without (0000,0800) is taken as dataset-less: waiting for a dataset that never comes would hang.
        if (parsed && (parsed.commandDataSetType === undefined || parsed.commandDataSetType === 0x0101 || (!pdv.command && pdv.last))) {
          return { contextId, command: parsed, dataset: dataset.length > 0 ? Buffer.concat(dataset) : undefined };
        }
      }
    }
  }

  /**
   * Writes, waiting for the socket to drain when more than SOCKET_IN_FLIGHT_BYTES are queued; throws if the
   * association ended. Several buffers (a PDU's header and its fragment) go out in one TLS record write, not one each.
   */
  async write(data: Buffer | Buffer[], timeoutMs: number): Promise<void> {
    this.checkPeer();
    let flowing: boolean;
    if (Array.isArray(data)) {
      this.socket.cork();
      flowing = data.map((buffer) => this.socket.write(buffer)).every(Boolean);
      this.socket.uncork();
    } else {
      flowing = this.socket.write(data);
    }
    if (flowing || this.socket.writableLength <= SOCKET_IN_FLIGHT_BYTES) return;
    const deadline = Date.now() + timeoutMs;
    while (this.socket.writableNeedDrain) {
      this.checkPeer();
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.wait(left))) {
        if (!this.socket.writableNeedDrain) break;
        this.abort(`could not send for ${seconds(timeoutMs)}`);
        throw new AssociationError(`the cloud stopped reading for ${seconds(timeoutMs)} while we sent; the association was aborted`, 'transfer');
      }
    }
    this.checkPeer();
  }

  /** During a transfer, the peer should not speak: an A-ABORT or a close ends it. */
  private checkPeer(): void {
    const abort = this.pdus.find((pdu) => pdu[0] === 0x07);
    if (abort) {
      this.closed ??= `the cloud aborted the association (A-ABORT source ${abort[8]}, reason ${abort[9]})`;
      this.socket.destroy();
    }
    if (this.closed) throw new AssociationError(this.closed, 'transfer');
  }

  abort(reason: string): void {
    if (this.usable) this.socket.end(abortPdu(0, 0));
    this.closed ??= reason;
    setTimeout(() => this.socket.destroy(), 500).unref();
  }

  async release(timeoutMs: number): Promise<void> {
    if (!this.usable) {
      this.socket.destroy();
      return;
    }
    try {
      this.socket.write(A_RELEASE_RQ);
      this.closed = 'released';
      const deadline = Date.now() + timeoutMs;
      while (!this.pdus.some((pdu) => pdu[0] === 0x06 || pdu[0] === 0x07) && !this.socket.destroyed && Date.now() < deadline) {
        await this.wait(deadline - Date.now());
      }
    } finally {
      this.socket.end();
      this.socket.destroy();
    }
  }

  nextMessageId(): number {
    this.messageId = (this.messageId % 0xffff) + 1;
    return this.messageId;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The transport

export interface DicomTlsTransportOptions {
  /** An association unused this long is released (default 15 s: below Orthanc's and DCMTK's usual 30 s idle limit). */
  idleTimeoutMs?: number;
  /** How long to wait for any answer (A-ASSOCIATE-AC, C-STORE-RSP, socket drain) before aborting (default 30 s). */
  responseTimeoutMs?: number;
  /** TCP connection, proxy tunnel and TLS handshake (default 10 s). */
  connectTimeoutMs?: number;
  /**
   * Records a Storage Commitment report that arrives on our association (N-EVENT-REPORT-RQ), whenever it comes
   * while the association is open; we answer success once it resolves. Reports may also come on a new association
   * to the gateway's listener.
   */
  onCommitmentReport?: (report: CommitmentReport) => Promise<void>;
}

export interface DicomTlsTransport extends Transport {
  /** Counters for tests, logs and /metrics. */
  readonly stats: { associations: number; associationsReused: number; instancesSent: number; bytesSent: number };
}

/**
 * The DICOM-TLS transport: C-STORE over mutual TLS (TLS 1.2+, the cloud's certificate and host name always verified),
 * many instances per association, the association kept across send() calls while the peer keeps it.
 */
export function createDicomTlsTransport(upstream: UpstreamConfig, callingAeTitle: string, pacer: Pacer, options: DicomTlsTransportOptions = {}): DicomTlsTransport {
  const host = upstream.host ?? '';
  const port = upstream.port ?? 0;
  const calledAe = upstream.calledAeTitle ?? '';
  const idleTimeoutMs = options.idleTimeoutMs ?? 15000;
  const responseTimeoutMs = options.responseTimeoutMs ?? 30000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10000;
  const stats = { associations: 0, associationsReused: 0, instancesSent: 0, bytesSent: 0 };
  /** Proposed with every association while on; off once the cloud refuses an N-ACTION (it does not commit). */
  let askCommitment = upstream.storageCommitment;
  /** The cloud accepted Storage Commitment on the last association we opened. */
  let peerCommits = false;
  let current: Association | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let busy: Promise<unknown> = Promise.resolve();
  const where = `${host}:${port} (${calledAe})`;

  async function connect(): Promise<tls.TLSSocket> {
    if (!host || !port || !calledAe) throw new AssociationError('upstream.host, upstream.port and upstream.calledAeTitle must be set for DICOM-TLS', 'connect');
    let options: tls.ConnectionOptions;
    try {
      options = tlsOptions(upstream, host);
    } catch (err) {
      throw new AssociationError(`cannot read the TLS files of upstream (caFile/certFile/keyFile): ${(err as Error).message}`, 'connect');
    }
    let raw: net.Socket;
    try {
      raw = await openTunnel({ host, port }, upstream.proxy, connectTimeoutMs);
    } catch (err) {
      throw new AssociationError(`cannot connect to the cloud at ${host}:${port}: ${(err as Error).message}`, 'connect');
    }
    raw.setNoDelay(true);
    return new Promise<tls.TLSSocket>((resolve, reject) => {
      let socket: tls.TLSSocket;
      try {
        // tlsOptions sets host (the name the certificate is verified against: the cloud's, never the proxy's),
        // SNI, TLS 1.2+, and verification on (there is no switch to turn it off).
        socket = tls.connect({ ...options, socket: raw, rejectUnauthorized: true });
        keepPeerCertificateOnError(socket);
      } catch (err) {
        raw.destroy();
        reject(new AssociationError(`TLS setup failed: ${(err as Error).message} (check upstream.certFile/keyFile/caFile)`, 'connect'));
        return;
      }
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new AssociationError(`TLS handshake with ${host}:${port} did not complete within ${seconds(connectTimeoutMs)}: is that port DICOM over TLS?`, 'connect'));
      }, connectTimeoutMs);
      const onError = (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new AssociationError(`cannot open DICOM-TLS to ${host}:${port}: ${describeTlsFailure(err)}`, 'connect'));
      };
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        socket.off('error', onError);
        resolve(socket);
      });
      socket.once('error', onError);
    });
  }

  async function associate(pairs: Array<[string, string]>): Promise<Association> {
    const socket = await connect();
    const association = new Association(socket, (err) => describeTlsFailure(err));
    association.onUnexpectedPdu = () => drainSoon(association);
    const proposed: ProposedContext[] = pairs.map(([abstractSyntax, ts]) => ({ abstractSyntax, transferSyntaxes: [ts] }));
    try {
      await association.write(associateRequest(calledAe, callingAeTitle, proposed, OUR_MAX_PDU), responseTimeoutMs);
      const pdu = await association.nextPdu(responseTimeoutMs, 'the association answer');
      if (pdu[0] === 0x03) {
        socket.destroy();
        throw new AssociationError(describeAssociateReject(pdu[7], pdu[8], pdu[9], calledAe, callingAeTitle), 'associate');
      }
      if (pdu[0] !== 0x02) {
        association.abort('unexpected PDU');
        throw new AssociationError(`the cloud answered the association request with PDU type ${pdu[0]}`, 'associate');
      }
      const accepted = parseAssociateAccept(pdu, proposed);
      association.maxPduLength = accepted.maxPduLength;
      for (const context of accepted.contexts) {
        const ts = pairs[(context.id - 1) / 2][1];
        association.contexts.set(contextKey(context.abstractSyntax, ts), { id: context.id, accepted: context.result === 0 && context.transferSyntax === ts, result: context.result });
      }
      // A context the peer left out of its answer counts as rejected (no reason).
      for (const [i, [sopClass, ts]] of pairs.entries()) {
        if (!association.contexts.has(contextKey(sopClass, ts))) association.contexts.set(contextKey(sopClass, ts), { id: 1 + 2 * i, accepted: false, result: 2 });
      }
      stats.associations++;
      return association;
    } catch (err) {
      socket.destroy();
      if (err instanceof AssociationError && err.phase === 'transfer') throw new AssociationError(`association with ${where} failed: ${err.message}`, 'associate');
      throw err;
    }
  }

  /**
   * The next response on the association. An N-EVENT-REPORT-RQ (a Storage Commitment report, which the cloud may
   * send whenever the association is open) is recorded and answered on the way.
   */
  async function readResponse(association: Association, waitingFor: string): Promise<CommandSet> {
    for (;;) {
      const message = await association.nextMessage(responseTimeoutMs, waitingFor);
      if (message.command.commandField !== 0x0100) return message.command;
      await answerReport(association, message);
    }
  }

  /** Records a Storage Commitment report and answers N-EVENT-REPORT-RSP. */
  async function answerReport(association: Association, message: { contextId: number; command: CommandSet; dataset?: Buffer }): Promise<void> {
    const { command } = message;
    let status = 0x0000;
    try {
      if (command.affectedSopClassUid !== STORAGE_COMMITMENT_PUSH_MODEL || !message.dataset) throw new Error(`N-EVENT-REPORT for SOP class ${command.affectedSopClassUid} is not a storage commitment report`);
      const report = parseCommitmentReport(message.dataset);
      await options.onCommitmentReport?.(report);
    } catch {
      // Processing failure: the cloud keeps the report and sends it again (PS3.4 J.3.3.1).
      status = 0x0110;
    }
    const response = encodeCommandSet({
      AffectedSOPClassUID: command.affectedSopClassUid,
      CommandField: 0x8100,
      MessageIDBeingRespondedTo: command.messageId,
      CommandDataSetType: 0x0101,
      Status: status,
      AffectedSOPInstanceUID: command.affectedSopInstanceUid,
      EventTypeID: command.eventTypeId,
    })!;
    await association.write(pDataPdu(message.contextId, response, true, true), responseTimeoutMs);
  }

  /** Runs drainReports once the operation under way (if any) has ended. */
  function drainSoon(association: Association): void {
    busy = busy.then(() => drainReports(association)).catch(() => undefined);
  }

  /** Between batches: answers what the peer sent unasked (Storage Commitment reports); anything else ends the association. */
  async function drainReports(association: Association): Promise<void> {
    while (association.usable && association.hasPdu) {
      try {
        const message = await association.nextMessage(responseTimeoutMs, 'a storage commitment report');
        if (message.command.commandField !== 0x0100) throw new AssociationError(`the cloud sent command ${message.command.commandField} unasked`, 'transfer');
        await answerReport(association, message);
      } catch (err) {
        if (current === association) current = undefined;
        association.abort((err as Error).message);
        return;
      }
    }
  }

  /** Writes one message: its command set, then its dataset cut to the peer's maximum PDU length. */
  async function writeMessage(association: Association, contextId: number, command: Buffer, dataset: Buffer): Promise<void> {
    await association.write(pDataPdu(contextId, command, true, true), responseTimeoutMs);
    const room = Math.max(256, association.maxPduLength > 0 ? association.maxPduLength - 6 : UNLIMITED_PDV) & ~1;
    for (let at = 0; at < dataset.length; at += room) {
      const fragment = dataset.subarray(at, at + room);
      await association.write(pDataPdu(contextId, fragment, false, at + room >= dataset.length), responseTimeoutMs);
    }
  }

  /** N-ACTION-RQ (PS3.4 J.3.2) on the kept association, or on a new one; the report comes later. */
  async function requestCommitmentNow(transactionUid: string, references: SopReference[]): Promise<CommitmentRequestOutcome> {
    clearTimeout(idleTimer);
    let association = current;
    let actionSent = false;
    try {
      if (!association?.usable || !association.contexts.get(COMMITMENT_CONTEXT)?.accepted) {
        await association?.release(2000).catch(() => undefined);
        current = undefined;
        association = current = await associate([[STORAGE_COMMITMENT_PUSH_MODEL, IMPLICIT_VR_LITTLE_ENDIAN]]);
      }
      const context = association.contexts.get(COMMITMENT_CONTEXT)!;
      if (!context.accepted) {
        askCommitment = false;
        return { requested: false, refused: true, error: `the cloud no longer accepts Storage Commitment (result ${context.result})` };
      }
      const command = encodeCommandSet({
        RequestedSOPClassUID: STORAGE_COMMITMENT_PUSH_MODEL,
        CommandField: 0x0130,
        MessageID: association.nextMessageId(),
        CommandDataSetType: 0x0000,
        RequestedSOPInstanceUID: STORAGE_COMMITMENT_SOP_INSTANCE,
        ActionTypeID: 1,
      })!;
      await writeMessage(association, context.id, command, encodeCommitmentDataset(transactionUid, references));
      actionSent = true;
      const response = await readResponse(association, 'the N-ACTION response');
      if (response.commandField !== 0x8130 || response.status === undefined) {
        association.abort('bad response');
        throw new AssociationError(`the cloud sent a response that is not an N-ACTION-RSP (command field ${response.commandField})`, 'transfer');
      }
      if (response.status !== 0x0000 && (response.status & 0xf000) !== 0xb000) {
        askCommitment = false;
        const hex = `0x${response.status.toString(16).toUpperCase().padStart(4, '0')}`;
        return { requested: false, refused: true, error: `the cloud refused the storage commitment request (N-ACTION status ${hex}${response.errorComment ? `: ${response.errorComment}` : ''})` };
      }
      // The report comes later: on this association while it stays open (drainReports), or on a new one.
      return { requested: true };
    } catch (err) {
      if (association && current === association) current = undefined;
      association?.abort((err as Error).message);
      // Orthanc accepts the SOP class from anyone but aborts the N-ACTION of a caller missing from its DicomModalities.
      if (actionSent && /aborted the association/.test((err as Error).message)) {
        askCommitment = false;
        return { requested: false, refused: true, error: `the cloud aborted the storage commitment request (${(err as Error).message}): ask the cloud provider to register this gateway (AE title, address, port) for Storage Commitment` };
      }
      return { requested: false, refused: false, error: `storage commitment request to ${where} failed: ${(err as Error).message}` };
    } finally {
      if (current?.usable) scheduleIdleRelease();
      else current = undefined;
    }
  }

  /** Sends one instance over an accepted context; resolves to the C-STORE-RSP status and error comment. */
  async function store(association: Association, contextId: number, instance: OutgoingInstance, readAhead?: Promise<Buffer>): Promise<{ status: number; comment?: string }> {
    const file = await openSpoolFile(instance, readAhead);
    try {
      const head = await file.read(0, 144);
      if (head.length < 144 || head.toString('latin1', 128, 132) !== 'DICM' || head.readUInt16LE(132) !== 0x0002 || head.readUInt16LE(134) !== 0x0000) {
        throw new SpoolFileError(`spool file ${instance.filePath} is not a Part 10 file with a group length`);
      }
      const datasetStart = 144 + head.readUInt32LE(140);
      const size = file.size;
      if (datasetStart >= size) throw new SpoolFileError(`spool file ${instance.filePath} has no dataset (truncated?)`);
      // PDV values are of even length (PS3.8 9.3.5.1). An odd-length deflated bitstream gets the single trailing NULL
      // byte PS3.5 A.5 prescribes (pydicom writes such files; DCMTK fails on the odd fragment and never answers).
      // Any other odd-length dataset is malformed and is not sent.
      const datasetLength = size - datasetStart;
      let pad = 0;
      if (datasetLength % 2 === 1) {
        if (instance.transferSyntaxUid !== DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN) {
          throw new SpoolFileError(`the dataset of ${instance.sopInstanceUid} has an odd length (${datasetLength} bytes): it is malformed and cannot be sent over DICOM`);
        }
        pad = 1;
      }
      const command = encodeCommandSet({
        AffectedSOPClassUID: instance.sopClassUid,
        CommandField: 0x0001,
        MessageID: association.nextMessageId(),
        Priority: 0,
        CommandDataSetType: 0x0000,
        AffectedSOPInstanceUID: instance.sopInstanceUid,
      });
      if (!command) throw new SpoolFileError('cannot encode the C-STORE request');
      await association.write(pDataPdu(contextId, command, true, true), responseTimeoutMs);
      // Even, so that every fragment but the last is even and the padded last one still fits.
      const room = Math.max(256, Math.min(association.maxPduLength > 0 ? association.maxPduLength - 6 : UNLIMITED_PDV, UNLIMITED_PDV)) & ~1;
      const chunkSize = Math.max(room, Math.floor(READ_CHUNK / room) * room);
      for (let offset = datasetStart; offset < size; ) {
        const length = Math.min(chunkSize, size - offset);
        const chunk = await file.read(offset, length);
        if (chunk.length < length) throw new SpoolFileError(`spool file ${instance.filePath} shrank while it was sent`, true);
        await pacer.take(length);
        for (let at = 0; at < length; at += room) {
          const fragment = chunk.subarray(at, Math.min(at + room, length));
          const last = offset + at + fragment.length >= size;
          const header = pDataHeader(contextId, fragment.length + (last ? pad : 0), false, last);
          await association.write(last && pad ? [header, fragment, Buffer.alloc(1)] : [header, fragment], responseTimeoutMs);
        }
        stats.bytesSent += length;
        offset += length;
      }
      const response = await readResponse(association, `the C-STORE response for ${instance.sopInstanceUid}`);
      if (response.status === undefined || response.commandField !== 0x8001) {
        association.abort('bad response');
        throw new AssociationError(`the cloud sent a response that is not a C-STORE-RSP (command field ${response.commandField})`, 'transfer');
      }
      stats.instancesSent++;
      association.stored++;
      association.lastUsed = Date.now();
      return { status: response.status, comment: response.errorComment };
    } finally {
      await file.close();
    }
  }

  function scheduleIdleRelease(): void {
    clearTimeout(idleTimer);
    if (!current) return;
    // A report that arrived together with the last response waits in the queue: read it once this operation ends.
    if (current.hasPdu) drainSoon(current);
    idleTimer = setTimeout(() => {
      const association = current;
      current = undefined;
      busy = busy.then(() => association?.release(2000)).catch(() => undefined);
    }, idleTimeoutMs);
    idleTimer.unref();
  }

  async function sendBatch(batch: OutgoingInstance[]): Promise<BatchOutcome> {
    clearTimeout(idleTimer);
    const outcome: BatchOutcome = { delivered: [], failed: [] };
    const fail = (instance: OutgoingInstance, error: string, permanent: boolean) => outcome.failed.push({ instance, error, permanent });
    let connectionError: string | undefined;
    const retried = new Set<OutgoingInstance>();
    let transferFailures = 0;
    // The next instance's file is read while this one is sent.
    const readsAhead = new Map<OutgoingInstance, Promise<Buffer>>();
    for (let i = 0; i < batch.length; i++) {
      const instance = batch[i];
      if (connectionError) {
        fail(instance, connectionError, false);
        continue;
      }
      const key = contextKey(instance.sopClassUid, instance.transferSyntaxUid);
      let reused = false;
      if (current && (!current.usable || !current.contexts.has(key))) {
        const old = current;
        current = undefined;
        await old.release(2000).catch(() => undefined);
      }
      if (current) {
        reused = true;
        if (i === 0) stats.associationsReused++;
      }
      else {
        // Propose the contexts of this and the following instances (at most 128).
        const pairs: Array<[string, string]> = [];
        const seen = new Set<string>();
        // A compressed instance is proposed as received too, in its own context, in case the cloud refuses the codec.
        for (const next of batch.slice(i).flatMap((item) => (item.asReceived ? [item, item.asReceived] : [item]))) {
          const k = contextKey(next.sopClassUid, next.transferSyntaxUid);
          if (seen.has(k) || pairs.length >= MAX_CONTEXTS - (askCommitment ? 1 : 0)) continue;
          seen.add(k);
          pairs.push([next.sopClassUid, next.transferSyntaxUid]);
        }
        if (askCommitment) pairs.push([STORAGE_COMMITMENT_PUSH_MODEL, IMPLICIT_VR_LITTLE_ENDIAN]);
        try {
          current = await associate(pairs);
          peerCommits = current.contexts.get(COMMITMENT_CONTEXT)?.accepted === true;
        } catch (err) {
          connectionError = (err as Error).message;
          fail(instance, connectionError, false);
          continue;
        }
      }
      const association = current;
      let context = association.contexts.get(key)!;
      let sending = instance;
      const asReceived = instance.asReceived && association.contexts.get(contextKey(instance.sopClassUid, instance.asReceived.transferSyntaxUid));
      if (!context.accepted && asReceived?.accepted) {
        // The cloud refuses the compressed transfer syntax but takes the instance as it was received: send that.
        context = asReceived;
        sending = instance.asReceived!;
      }
      if (!context.accepted) {
        const why =
          context.result === 3
            ? `the cloud does not accept SOP class ${instance.sopClassUid}`
            : context.result === 4
              ? `the cloud does not accept transfer syntax ${instance.transferSyntaxUid} for SOP class ${instance.sopClassUid}: add a compression rule that converts it`
              : `the cloud rejected the presentation context for SOP class ${instance.sopClassUid} / ${instance.transferSyntaxUid} (result ${context.result})`;
        fail(instance, why, context.result === 3 || context.result === 4);
        continue;
      }
      try {
        const ahead = readsAhead.get(instance);
        readsAhead.delete(instance);
        const following = batch[i + 1];
        if (following && !readsAhead.has(following)) {
          const reading = readAhead(following);
          if (reading) readsAhead.set(following, reading);
        }
        const { status, comment } = await store(association, context.id, sending, sending === instance ? ahead : undefined);
        const meaning = classifyStoreStatus(status);
        if (meaning.delivered) outcome.delivered.push(instance);
        else fail(instance, `the cloud answered C-STORE status ${meaning.meaning}${comment ? ` (${comment})` : ''}`, meaning.permanent);
      } catch (err) {
        if (err instanceof SpoolFileError) {
          if (err.midTransfer) {
            if (current === association) current = undefined;
            association.abort(err.message);
          }
          fail(instance, err.message, true);
          continue;
        }
        const message = (err as Error).message;
        if (current === association) current = undefined;
        association.abort(message);
        const error = `sending to ${where} failed: ${message}`;
        // A silent or stalled peer: the rest of the batch fails now, not after one timeout per instance.
        if (/did not answer|stopped reading/.test(message)) {
          connectionError = error;
          fail(instance, error, false);
          continue;
        }
        // A kept association the peer closed meanwhile (idle limit, restart): this instance once more on a new one.
        if (reused && !retried.has(instance)) {
          retried.add(instance);
          i--;
          continue;
        }
        fail(instance, error, false);
        // One more association for the next instance; a peer that aborts again fails the rest of the batch.
        if (++transferFailures >= 2) connectionError = error;
      }
    }
    if (current?.usable) scheduleIdleRelease();
    else current = undefined;
    outcome.commitmentAvailable = askCommitment && peerCommits;
    return outcome;
  }

  return {
    stats,
    send(batch: OutgoingInstance[]): Promise<BatchOutcome> {
      const run = busy.then(() => sendBatch(batch));
      busy = run.catch(() => undefined);
      return run.catch((err: unknown) => ({
        delivered: [],
        failed: batch.map((instance) => ({ instance, error: `DICOM-TLS transport error: ${(err as Error)?.message ?? String(err)}`, permanent: false })),
      }));
    },
    requestCommitment(transactionUid: string, instances: SopReference[]): Promise<CommitmentRequestOutcome> {
      const run = busy.then(() => requestCommitmentNow(transactionUid, instances));
      busy = run.catch(() => undefined);
      return run;
    },
    async close(): Promise<void> {
      clearTimeout(idleTimer);
      await busy;
      const association = current;
      current = undefined;
      await association?.release(2000).catch(() => undefined);
    },
  };
}

class SpoolFileError extends Error {
  constructor(message: string, readonly midTransfer = false) {
    super(message);
  }
}

/** A spool file being sent: read whole ahead of its turn, or read from disk in steps. */
interface SpoolFile {
  size: number;
  /** Up to `length` bytes from `offset`; fewer only at the end of the file. */
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

async function openSpoolFile(instance: OutgoingInstance, readAhead?: Promise<Buffer>): Promise<SpoolFile> {
  const unreadable = (err: unknown) => new SpoolFileError(`cannot read spool file ${instance.filePath}: ${(err as Error).message} (the instance must be received again)`);
  if (readAhead) {
    const data = await readAhead.catch((err: unknown) => Promise.reject(unreadable(err)));
    return { size: data.length, read: async (offset, length) => data.subarray(offset, offset + length), close: async () => undefined };
  }
  let handle: fs.promises.FileHandle;
  let size: number;
  try {
    handle = await fs.promises.open(instance.filePath, 'r');
  } catch (err) {
    throw unreadable(err);
  }
  try {
    size = (await handle.stat()).size;
  } catch (err) {
    await handle.close();
    throw unreadable(err);
  }
  return {
    size,
    async read(offset, length) {
      const out = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await handle.read(out, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return out.subarray(0, got);
    },
    close: () => handle.close(),
  };
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
