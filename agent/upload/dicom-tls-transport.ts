// DICOM over TLS to the cloud PACS: C-STORE (PS3.7) of spool files through our own association client
// (agent/dicom), so the dataset bytes leave exactly as they were received and spooled. The dcmjs-dimse Client sends a
// dcmjs Dataset (it re-encodes: drops private tags, rewrites character sets, see DESIGN.md "spool"). Here the spool
// file's dataset is read from disk in chunks and written in P-DATA PDUs up to the peer's maximum PDU length, with
// socket backpressure and the pacer respected; Storage Commitment (N-ACTION, N-EVENT-REPORT) rides the same association.
import type tls from 'node:tls';
import type { UpstreamConfig } from '../config/upstream-config';
import { ClientAssociation, type DimseMessage } from '../dicom/association';
import { CommandField, DataSetType, encodeCommand } from '../dicom/command';
import { DicomError, isDicomError } from '../dicom/dicom-error';
import { ContextResult, pDataHeader, pDataPdu, type ProposedContext } from '../dicom/pdu';
import { Status, classifyStoreStatus, statusClass, statusHex } from '../dicom/status';
import { STORAGE_COMMITMENT_PUSH_MODEL, STORAGE_COMMITMENT_SOP_INSTANCE, TransferSyntax } from '../dicom/uids';
import { echo } from '../dicom/verification';
import { errorMessage } from '../errors';
import { connectToCloud, describeAssociateReject } from './cloud-connection';
import { SpoolFileError, openSpoolFile } from './outgoing-file';
import { encodeCommitmentDataset, parseCommitmentReport, type CommitmentReport, type SopReference } from './commitment-dataset';
import { describeTlsFailure } from './tls-failure';
import { readAhead, SOCKET_IN_FLIGHT_BYTES, type BatchOutcome, type CommitmentRequestOutcome, type OutgoingInstance, type Pacer, type Transport } from './transport';

const IMPLICIT_VR_LITTLE_ENDIAN = TransferSyntax.ImplicitVRLittleEndian;
/** Bytes read from the spool file at once (cut into PDUs of the peer's size). */
const READ_CHUNK = 1024 * 1024;
const MAX_CONTEXTS = 128;

/** The Storage Commitment context of an association (proposed in implicit VR little endian only). */
function commitmentContext(association: ClientAssociation) {
  return association.context(STORAGE_COMMITMENT_PUSH_MODEL, IMPLICIT_VR_LITTLE_ENDIAN);
}

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

/** A connection opened ahead is used for the next association only this soon: the cloud may drop one left silent. */
const OPENED_FRESH_MS = 5000;

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
  let current: ClientAssociation | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let busy: Promise<unknown> = Promise.resolve();
  const where = `${host}:${port} (${calledAe})`;
  /** A TLS connection that connect() opened ahead of the next association. */
  let opened: { socket: tls.TLSSocket; at: number; dropOnError: () => void } | undefined;

  function requireTarget(): void {
    if (!host || !port || !calledAe) throw new DicomError('config', 'upstream.host, upstream.port and upstream.calledAeTitle must be set for DICOM-TLS');
  }

  /** The connection opened ahead if it is still fresh, else a new one. */
  function takeOpened(): tls.TLSSocket | undefined {
    const ready = opened;
    opened = undefined;
    if (!ready) return undefined;
    ready.socket.off('error', ready.dropOnError);
    if (!ready.socket.destroyed && Date.now() - ready.at < OPENED_FRESH_MS) return ready.socket;
    ready.socket.destroy();
    return undefined;
  }

  async function associate(pairs: Array<[string, string]>): Promise<ClientAssociation> {
    requireTarget();
    const socket = takeOpened() ?? (await connectToCloud(upstream, connectTimeoutMs));
    const proposed: ProposedContext[] = pairs.map(([abstractSyntax, ts]) => ({ abstractSyntax, transferSyntaxes: [ts] }));
    let association: ClientAssociation;
    try {
      association = await ClientAssociation.open(
        socket,
        { calledAe, callingAe: callingAeTitle, contexts: proposed, timeoutMs: responseTimeoutMs },
        { peer: 'the cloud', inFlightBytes: SOCKET_IN_FLIGHT_BYTES, describeSocketError: describeTlsFailure },
      );
    } catch (err) {
      if (isDicomError(err, 'rejected') && err.reject) throw new DicomError('rejected', describeAssociateReject(err.reject, calledAe, callingAeTitle), { reject: err.reject });
      if (isDicomError(err, 'protocol')) throw err;
      const kind = isDicomError(err) ? err.kind : 'network';
      throw new DicomError(kind, `association with ${where} failed: ${errorMessage(err)}`, { cause: err });
    }
    association.onUnexpectedPdu = () => drainSoon(association);
    stats.associations++;
    return association;
  }

  /**
   * The next response on the association. An N-EVENT-REPORT-RQ (a Storage Commitment report, which the cloud may
   * send whenever the association is open) is recorded and answered on the way.
   */
  async function readResponse(association: ClientAssociation, commandField: number, waitingFor: string): Promise<DimseMessage & { status: number }> {
    for (;;) {
      const message = await association.nextMessage(responseTimeoutMs, waitingFor);
      if (message.command.CommandField === CommandField.NEventReportRq) {
        await answerReport(association, message);
        continue;
      }
      const status = message.command.Status;
      if (message.command.CommandField !== commandField || status === undefined) {
        association.abort('bad response');
        throw new DicomError('protocol', `the cloud sent a response that is not ${waitingFor} (command field ${message.command.CommandField})`);
      }
      return { ...message, status };
    }
  }

  /** Records a Storage Commitment report and answers N-EVENT-REPORT-RSP. */
  async function answerReport(association: ClientAssociation, message: DimseMessage): Promise<void> {
    const { command } = message;
    let status: number = Status.Success;
    try {
      if (command.AffectedSOPClassUID !== STORAGE_COMMITMENT_PUSH_MODEL || !message.dataset)
        throw new Error(`N-EVENT-REPORT for SOP class ${command.AffectedSOPClassUID} is not a storage commitment report`);
      const report = parseCommitmentReport(message.dataset);
      await options.onCommitmentReport?.(report);
    } catch {
      // Processing failure: the cloud keeps the report and sends it again (PS3.4 J.3.3.1).
      status = Status.ProcessingFailure;
    }
    const response = encodeCommand({
      AffectedSOPClassUID: command.AffectedSOPClassUID,
      CommandField: CommandField.NEventReportRsp,
      MessageIDBeingRespondedTo: command.MessageID,
      CommandDataSetType: DataSetType.Absent,
      Status: status,
      AffectedSOPInstanceUID: command.AffectedSOPInstanceUID,
      EventTypeID: command.EventTypeID,
    });
    await association.write(pDataPdu(message.contextId, response, true, true), responseTimeoutMs);
  }

  /** Runs drainReports once the operation under way (if any) has ended. */
  function drainSoon(association: ClientAssociation): void {
    busy = busy.then(() => drainReports(association)).catch(() => undefined);
  }

  /** Between batches: answers what the peer sent unasked (Storage Commitment reports); anything else ends the association. */
  async function drainReports(association: ClientAssociation): Promise<void> {
    while (association.usable && association.hasPdu) {
      try {
        const message = await association.nextMessage(responseTimeoutMs, 'a storage commitment report');
        if (message.command.CommandField !== CommandField.NEventReportRq) throw new DicomError('protocol', `the cloud sent command ${message.command.CommandField} unasked`);
        await answerReport(association, message);
      } catch (err) {
        if (current === association) current = undefined;
        association.abort(errorMessage(err));
        return;
      }
    }
  }

  /** N-ACTION-RQ (PS3.4 J.3.2) on the kept association, or on a new one; the report comes later. */
  async function requestCommitmentNow(transactionUid: string, references: SopReference[]): Promise<CommitmentRequestOutcome> {
    clearTimeout(idleTimer);
    let association = current;
    let actionSent = false;
    try {
      if (!association?.usable || !commitmentContext(association)?.accepted) {
        await association?.release(2000).catch(() => undefined);
        current = undefined;
        association = current = await associate([[STORAGE_COMMITMENT_PUSH_MODEL, IMPLICIT_VR_LITTLE_ENDIAN]]);
      }
      const context = commitmentContext(association)!;
      if (!context.accepted) {
        askCommitment = false;
        return { requested: false, refused: true, error: `the cloud no longer accepts Storage Commitment (result ${context.result})` };
      }
      const command = encodeCommand({
        RequestedSOPClassUID: STORAGE_COMMITMENT_PUSH_MODEL,
        CommandField: CommandField.NActionRq,
        MessageID: association.nextMessageId(),
        CommandDataSetType: DataSetType.Present,
        RequestedSOPInstanceUID: STORAGE_COMMITMENT_SOP_INSTANCE,
        ActionTypeID: 1,
      });
      await association.sendMessage(context.id, command, encodeCommitmentDataset(transactionUid, references), responseTimeoutMs);
      actionSent = true;
      const response = await readResponse(association, CommandField.NActionRsp, 'an N-ACTION-RSP');
      const cls = statusClass(response.status);
      if (cls !== 'success' && cls !== 'warning') {
        askCommitment = false;
        const comment = response.command.ErrorComment ? `: ${response.command.ErrorComment}` : '';
        return { requested: false, refused: true, error: `the cloud refused the storage commitment request (N-ACTION status ${statusHex(response.status)}${comment})` };
      }
      // The report comes later: on this association while it stays open (drainReports), or on a new one.
      return { requested: true };
    } catch (err) {
      if (association && current === association) current = undefined;
      association?.abort(errorMessage(err));
      // Orthanc accepts the SOP class from anyone but aborts the N-ACTION of a caller missing from its DicomModalities.
      if (actionSent && isDicomError(err, 'aborted')) {
        askCommitment = false;
        return {
          requested: false,
          refused: true,
          error: `the cloud aborted the storage commitment request (${err.message}): ask the cloud provider to register this gateway (AE title, address, port) for Storage Commitment`,
        };
      }
      return { requested: false, refused: false, error: `storage commitment request to ${where} failed: ${errorMessage(err)}` };
    } finally {
      if (current?.usable) scheduleIdleRelease();
      else current = undefined;
    }
  }

  /** Sends one instance over an accepted context; resolves to the C-STORE-RSP status and error comment. */
  async function store(association: ClientAssociation, contextId: number, instance: OutgoingInstance, readAhead?: Promise<Buffer>): Promise<{ status: number; comment?: string }> {
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
        if (instance.transferSyntaxUid !== TransferSyntax.DeflatedExplicitVRLittleEndian) {
          throw new SpoolFileError(`the dataset of ${instance.sopInstanceUid} has an odd length (${datasetLength} bytes): it is malformed and cannot be sent over DICOM`);
        }
        pad = 1;
      }
      const command = encodeCommand({
        AffectedSOPClassUID: instance.sopClassUid,
        CommandField: CommandField.CStoreRq,
        MessageID: association.nextMessageId(),
        Priority: 0,
        CommandDataSetType: DataSetType.Present,
        AffectedSOPInstanceUID: instance.sopInstanceUid,
      });
      await association.write(pDataPdu(contextId, command, true, true), responseTimeoutMs);
      // Even, so that every fragment but the last is even and the padded last one still fits.
      const room = association.maxPdvLength();
      const chunkSize = Math.max(room, Math.floor(READ_CHUNK / room) * room);
      for (let offset = datasetStart; offset < size;) {
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
      const response = await readResponse(association, CommandField.CStoreRsp, `the C-STORE response for ${instance.sopInstanceUid}`);
      stats.instancesSent++;
      association.stored++;
      association.lastUsed = Date.now();
      return { status: response.status, comment: response.command.ErrorComment };
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
      let reused = false;
      if (current && (!current.usable || !current.context(instance.sopClassUid, instance.transferSyntaxUid))) {
        const old = current;
        current = undefined;
        await old.release(2000).catch(() => undefined);
      }
      if (current) {
        reused = true;
        if (i === 0) stats.associationsReused++;
      } else {
        // Propose the contexts of this and the following instances (at most 128).
        const pairs: Array<[string, string]> = [];
        const seen = new Set<string>();
        // A compressed instance is proposed as received too, in its own context, in case the cloud refuses the codec.
        for (const next of batch.slice(i).flatMap((item) => (item.asReceived ? [item, item.asReceived] : [item]))) {
          const k = `${next.sopClassUid}\u0000${next.transferSyntaxUid}`;
          if (seen.has(k) || pairs.length >= MAX_CONTEXTS - (askCommitment ? 1 : 0)) continue;
          seen.add(k);
          pairs.push([next.sopClassUid, next.transferSyntaxUid]);
        }
        if (askCommitment) pairs.push([STORAGE_COMMITMENT_PUSH_MODEL, IMPLICIT_VR_LITTLE_ENDIAN]);
        try {
          current = await associate(pairs);
          peerCommits = commitmentContext(current)?.accepted === true;
        } catch (err) {
          connectionError = errorMessage(err);
          // A configuration error of ours is not the cloud's absence.
          if (!isDicomError(err, 'config')) outcome.unreachable = connectionError;
          outcome.noRoom = isDicomError(err, 'timeout') || (isDicomError(err, 'rejected') && err.reject?.result === 2 && err.reject.source === 3);
          fail(instance, connectionError, false);
          continue;
        }
      }
      const association = current;
      let context = association.context(instance.sopClassUid, instance.transferSyntaxUid)!;
      let sending = instance;
      const asReceived = instance.asReceived && association.context(instance.sopClassUid, instance.asReceived.transferSyntaxUid);
      if (!context.accepted && asReceived?.accepted) {
        // The cloud refuses the compressed transfer syntax but takes the instance as it was received: send that.
        context = asReceived;
        sending = instance.asReceived!;
      }
      if (!context.accepted) {
        const why =
          context.result === ContextResult.AbstractSyntaxNotSupported
            ? `the cloud does not accept SOP class ${instance.sopClassUid}`
            : context.result === ContextResult.TransferSyntaxesNotSupported
              ? `the cloud does not accept transfer syntax ${instance.transferSyntaxUid} for SOP class ${instance.sopClassUid}: add a compression rule that converts it`
              : `the cloud rejected the presentation context for SOP class ${instance.sopClassUid} / ${instance.transferSyntaxUid} (result ${context.result})`;
        fail(instance, why, context.result === ContextResult.AbstractSyntaxNotSupported || context.result === ContextResult.TransferSyntaxesNotSupported);
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
        const message = errorMessage(err);
        if (current === association) current = undefined;
        association.abort(message);
        const error = `sending to ${where} failed: ${message}`;
        // A silent or stalled peer: the rest of the batch fails now, not after one timeout per instance.
        if (isDicomError(err, 'timeout')) {
          connectionError = error;
          outcome.unreachable = error;
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
        failed: batch.map((instance) => ({ instance, error: `DICOM-TLS transport error: ${errorMessage(err)}`, permanent: false })),
      }));
    },
    async connect(): Promise<Pick<BatchOutcome, 'unreachable' | 'noRoom'>> {
      if (current?.usable || opened) return {};
      try {
        requireTarget();
        const socket = await connectToCloud(upstream, connectTimeoutMs);
        const dropOnError = () => {
          if (opened?.socket === socket) opened = undefined;
          socket.destroy();
        };
        socket.on('error', dropOnError);
        opened = { socket, at: Date.now(), dropOnError };
        return {};
      } catch (err) {
        // The handshake did not come in time: the cloud left the connection in its listen queue.
        return isDicomError(err, 'config') ? {} : { unreachable: errorMessage(err), noRoom: isDicomError(err, 'timeout') };
      }
    },
    async probe(): Promise<void> {
      requireTarget();
      const socket = await connectToCloud(upstream, connectTimeoutMs);
      try {
        await echo(socket, { calledAe, callingAe: callingAeTitle, timeoutMs: responseTimeoutMs }, { peer: 'the cloud', describeSocketError: describeTlsFailure });
      } catch (err) {
        if (isDicomError(err, 'rejected') && err.reject) throw new Error(describeAssociateReject(err.reject, calledAe, callingAeTitle), { cause: err });
        throw err;
      } finally {
        socket.destroy();
      }
    },
    requestCommitment(transactionUid: string, instances: SopReference[]): Promise<CommitmentRequestOutcome> {
      const run = busy.then(() => requestCommitmentNow(transactionUid, instances));
      busy = run.catch(() => undefined);
      return run;
    },
    async close(): Promise<void> {
      clearTimeout(idleTimer);
      await busy;
      takeOpened()?.destroy();
      const association = current;
      current = undefined;
      await association?.release(2000).catch(() => undefined);
    },
  };
}
