// A DICOM-TLS storage SCP standing in for the cloud, with faults on demand: accept and store, refuse the association,
// abort mid-transfer, go silent, answer a chosen C-STORE status; present any certificate (expired, wrong host, other
// CA) by construction. Raw PDUs (PS3.8) over node:tls, so every fault is exact and the stored bytes are the wire bytes.
import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { CommandField, DataSetType, encodeCommand, parseCommandSet } from '../../agent/dicom/command';
import {
  A_RELEASE_RP,
  ContextResult,
  PduType,
  encodeAbort,
  encodeAssociateAccept,
  encodeAssociateReject,
  pDataPdu,
  parseAssociateRequest,
  parsePData,
  type ContextAnswer,
} from '../../agent/dicom/pdu';
import { PduReader } from '../../agent/dicom/pdu-reader';
import { STORAGE_COMMITMENT_PUSH_MODEL, STORAGE_COMMITMENT_SOP_INSTANCE } from '../../agent/dicom/uids';
import { encodeCommitmentDataset, parseCommitmentReport, type SopReference } from '../../agent/upload/commitment-dataset';

export type ScpBehavior =
  | { mode: 'accept' }
  /** A-ASSOCIATE-RJ with this result (1 permanent, 2 transient), source and reason. */
  | { mode: 'reject'; result: number; source: number; reason: number }
  /** A-ABORT after this many dataset bytes of the first C-STORE arrived. */
  | { mode: 'abort'; afterBytes?: number }
  /** Accept the association, then never answer a C-STORE. */
  | { mode: 'silent' }
  /** Never answer the association request. */
  | { mode: 'silent-association' }
  /** Answer every C-STORE with this status (the dataset is not kept unless the status is a success or warning). */
  | { mode: 'status'; status: number; errorComment?: string };

export interface DicomTlsScpOptions {
  certFile: string;
  keyFile: string;
  /** CA to verify client certificates; with requireClientCertificate. */
  caFile?: string;
  requireClientCertificate?: boolean;
  aeTitle?: string;
  /** Folder where accepted datasets are written as <SOPInstanceUID>.dataset (dataset bytes as received). */
  storeDir?: string;
  /** The maximum PDU length announced in the A-ASSOCIATE-AC (default 16384, like DCMTK). */
  maxPduLength?: number;
  /** Only these transfer syntaxes are accepted (others: result 4); default all. */
  acceptedTransferSyntaxes?: string[];
  behavior?: ScpBehavior;
  /** Listen on this port (a cloud coming back where it was); default a free one. */
  port?: number;
  /** Storage Commitment (default: the SOP class is accepted, reports on the same association). */
  commitment?: CommitmentBehavior;
}

export interface CommitmentBehavior {
  /** Reject the Storage Commitment presentation context (result 3): the peer does not commit. */
  reject?: boolean;
  /** Answer N-ACTION with this failure status. */
  actionStatus?: number;
  /** Answer N-ACTION with A-ABORT (as Orthanc does for a caller missing from its DicomModalities). */
  abortAction?: boolean;
  /** Answer N-ACTION but never report. */
  neverReport?: boolean;
  /**
   * Report these instances failed with this reason, the number of times given (then commit them). An instance the
   * simulator did not store is always reported failed, with 0x0112 no such object instance.
   */
  failInstances?: Map<string, { reason: number; times: number }>;
}

export interface CommitmentRequest {
  transactionUid: string;
  instances: SopReference[];
  /** Status of the gateway's N-EVENT-REPORT-RSP, once it answered. */
  reportAnswer?: number;
}

export interface StoredInstance {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  callingAe: string;
  dataset: Buffer;
  /** Date.now() when it was kept (before the C-STORE response is sent). */
  storedAt: number;
}

export interface DicomTlsScp {
  port: number;
  behavior: ScpBehavior;
  commitment: CommitmentBehavior;
  readonly stored: StoredInstance[];
  /** The N-ACTION requests received, in order. */
  readonly commitmentRequests: CommitmentRequest[];
  /** Associations accepted so far. */
  readonly associations: number;
  /** Largest P-DATA PDU received (to check the SCU honours our maximum). */
  readonly largestPdu: number;
  /** Ends every open connection (as a peer's idle limit or restart would). */
  dropConnections(): void;
  close(): Promise<void>;
}

interface Context {
  abstractSyntax: string;
  transferSyntax: string;
}

export async function startDicomTlsScp(options: DicomTlsScpOptions): Promise<DicomTlsScp> {
  const aeTitle = options.aeTitle ?? 'CLOUDSIM';
  const maxPdu = options.maxPduLength ?? 16384;
  const sockets = new Set<net.Socket>();
  const stored: StoredInstance[] = [];
  const commitmentRequests: CommitmentRequest[] = [];
  let associations = 0;
  let largestPdu = 0;
  if (options.storeDir) fs.mkdirSync(options.storeDir, { recursive: true });
  const server = tls.createServer({
    cert: fs.readFileSync(options.certFile),
    key: fs.readFileSync(options.keyFile),
    ca: options.caFile ? fs.readFileSync(options.caFile) : undefined,
    requestCert: options.requireClientCertificate ?? false,
    rejectUnauthorized: options.requireClientCertificate ?? false,
    minVersion: 'TLSv1.2',
  });
  const scp: DicomTlsScp = {
    port: 0,
    behavior: options.behavior ?? { mode: 'accept' },
    commitment: options.commitment ?? {},
    stored,
    commitmentRequests,
    get associations() {
      return associations;
    },
    get largestPdu() {
      return largestPdu;
    },
    dropConnections() {
      for (const socket of sockets) socket.destroy();
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };

  server.on('secureConnection', (socket: tls.TLSSocket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const reader = new PduReader();
    const contexts = new Map<number, Context>();
    let callingAe = '';
    let command: Buffer[] = [];
    let data: Buffer[] = [];
    let dataBytes = 0;
    let done = false;

    const handle = (pdu: Buffer) => {
      const type = pdu[0];
      const behavior = scp.behavior;
      if (type === PduType.AssociateRequest) {
        const request = parseAssociateRequest(pdu);
        callingAe = request.callingAe;
        if (behavior.mode === 'silent-association') return;
        if (behavior.mode === 'reject') {
          socket.end(encodeAssociateReject(behavior));
          done = true;
          return;
        }
        if (request.calledAe !== aeTitle) {
          socket.end(encodeAssociateReject({ result: 1, source: 1, reason: 7 }));
          done = true;
          return;
        }
        const answers: ContextAnswer[] = request.contexts.map(({ id, abstractSyntax, transferSyntaxes }) => {
          const refused = abstractSyntax === STORAGE_COMMITMENT_PUSH_MODEL && scp.commitment.reject;
          const chosen = refused ? undefined : transferSyntaxes.find((ts) => !options.acceptedTransferSyntaxes || options.acceptedTransferSyntaxes.includes(ts));
          if (chosen) contexts.set(id, { abstractSyntax, transferSyntax: chosen });
          const result = chosen ? ContextResult.Acceptance : refused ? ContextResult.AbstractSyntaxNotSupported : ContextResult.TransferSyntaxesNotSupported;
          return { id, result, transferSyntax: chosen ?? transferSyntaxes[0] };
        });
        associations++;
        socket.write(encodeAssociateAccept({ calledAe: request.calledAe, callingAe, contexts: answers, maxPduLength: maxPdu, implementationClassUid: '1.2.826.0.1.3680043.10.1451.99' }));
        return;
      }
      if (type === PduType.ReleaseRequest) {
        socket.end(A_RELEASE_RP);
        done = true;
        return;
      }
      if (type === PduType.Abort) {
        socket.destroy();
        done = true;
        return;
      }
      if (type !== PduType.PData) return;
      largestPdu = Math.max(largestPdu, pdu.length - 6);
      let contextId = 0;
      let lastData = false;
      let lastCommand = false;
      for (const pdv of parsePData(pdu)) {
        contextId = pdv.contextId;
        const value = Buffer.from(pdv.value);
        if (pdv.command) {
          command.push(value);
          if (pdv.last) lastCommand = true;
        } else {
          data.push(value);
          dataBytes += value.length;
          if (pdv.last) lastData = true;
        }
      }
      if (behavior.mode === 'abort' && dataBytes > (behavior.afterBytes ?? 0)) {
        socket.end(encodeAbort(2, 0));
        done = true;
        return;
      }
      const commandSet = parseCommandSet(Buffer.concat(command));
      if (commandSet.CommandField === CommandField.NEventReportRsp && commandSet.CommandDataSetType === DataSetType.Absent) {
        // The gateway's N-EVENT-REPORT-RSP.
        const answered = commitmentRequests.find((r) => r.reportAnswer === undefined);
        if (answered) answered.reportAnswer = commandSet.Status;
        command = [];
        return;
      }
      if (lastCommand && commandSet.CommandField === CommandField.CEchoRq) {
        // Verification: how a gateway checks that the cloud is back.
        command = [];
        socket.write(
          pDataPdu(
            contextId,
            encodeCommand({
              AffectedSOPClassUID: commandSet.AffectedSOPClassUID,
              CommandField: CommandField.CEchoRsp,
              MessageIDBeingRespondedTo: commandSet.MessageID ?? 0,
              CommandDataSetType: DataSetType.Absent,
              Status: 0,
            }),
            true,
            true,
          ),
        );
        return;
      }
      if (!lastData) return;
      if (commandSet.CommandField === CommandField.NActionRq) {
        if (scp.commitment.abortAction) {
          socket.end(encodeAbort(0, 0));
          done = true;
          return;
        }
        answerCommitment(contextId, commandSet.MessageID ?? 0, Buffer.concat(data));
        command = [];
        data = [];
        dataBytes = 0;
        return;
      }
      const request = { sopClassUid: commandSet.AffectedSOPClassUID ?? '', sopInstanceUid: commandSet.AffectedSOPInstanceUID ?? '', messageId: commandSet.MessageID ?? 0 };
      const dataset = Buffer.concat(data);
      command = [];
      data = [];
      dataBytes = 0;
      if (behavior.mode === 'silent') return;
      const context = contexts.get(contextId);
      const status = behavior.mode === 'status' ? behavior.status : 0;
      const keep = status === 0 || (status & 0xf000) === 0xb000;
      if (keep && context) {
        stored.push({ sopClassUid: request.sopClassUid, sopInstanceUid: request.sopInstanceUid, transferSyntaxUid: context.transferSyntax, callingAe, dataset, storedAt: Date.now() });
        if (options.storeDir) fs.writeFileSync(path.join(options.storeDir, `${request.sopInstanceUid}.dataset`), dataset);
      }
      const response = encodeCommand({
        AffectedSOPClassUID: request.sopClassUid,
        CommandField: CommandField.CStoreRsp,
        MessageIDBeingRespondedTo: request.messageId,
        CommandDataSetType: DataSetType.Absent,
        Status: status,
        ErrorComment: behavior.mode === 'status' ? behavior.errorComment : undefined,
        AffectedSOPInstanceUID: request.sopInstanceUid,
      });
      socket.write(pDataPdu(contextId, response, true, true));
    };

    /** N-ACTION-RSP, then (unless told otherwise) the N-EVENT-REPORT-RQ on this association. */
    const answerCommitment = (contextId: number, messageId: number, dataset: Buffer) => {
      const request = parseCommitmentReport(dataset);
      commitmentRequests.push({ transactionUid: request.transactionUid, instances: request.committed });
      const behavior = scp.commitment;
      const response = encodeCommand({
        AffectedSOPClassUID: STORAGE_COMMITMENT_PUSH_MODEL,
        CommandField: CommandField.NActionRsp,
        MessageIDBeingRespondedTo: messageId,
        CommandDataSetType: DataSetType.Absent,
        Status: behavior.actionStatus ?? 0,
        AffectedSOPInstanceUID: STORAGE_COMMITMENT_SOP_INSTANCE,
      });
      const rsp = pDataPdu(contextId, response, true, true);
      if (behavior.actionStatus || behavior.neverReport) {
        socket.write(rsp);
        return;
      }
      const committed: SopReference[] = [];
      const failed: Array<SopReference & { reason: number }> = [];
      for (const ref of request.committed) {
        const fault = behavior.failInstances?.get(ref.sopInstanceUid);
        if (fault && fault.times > 0) {
          fault.times--;
          failed.push({ ...ref, reason: fault.reason });
        } else if (!stored.some((s) => s.sopInstanceUid === ref.sopInstanceUid)) failed.push({ ...ref, reason: 0x0112 });
        else committed.push(ref);
      }
      const report = encodeCommand({
        AffectedSOPClassUID: STORAGE_COMMITMENT_PUSH_MODEL,
        CommandField: CommandField.NEventReportRq,
        MessageID: 1,
        CommandDataSetType: DataSetType.Present,
        AffectedSOPInstanceUID: STORAGE_COMMITMENT_SOP_INSTANCE,
        EventTypeID: failed.length > 0 ? 2 : 1,
      });
      // In one write with the N-ACTION-RSP: the gateway must read a report that came along with the response.
      socket.write(Buffer.concat([rsp, pDataPdu(contextId, report, true, true), pDataPdu(contextId, encodeCommitmentDataset(request.transactionUid, committed, failed), false, true)]));
    };

    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      reader.push(chunk);
      for (let next = reader.header(); next && reader.buffered >= next.length + 6 && !done; next = reader.header()) {
        handle(Buffer.from(reader.take(next.length + 6)));
      }
    });
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', () => resolve()));
  scp.port = (server.address() as net.AddressInfo).port;
  return scp;
}
