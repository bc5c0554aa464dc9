// A DICOM-TLS storage SCP standing in for the cloud, with faults on demand: accept and store, refuse the association,
// abort mid-transfer, go silent, answer a chosen C-STORE status; present any certificate (expired, wrong host, other
// CA) by construction. Raw PDUs (PS3.8) over node:tls, so every fault is exact and the stored bytes are the wire bytes.
import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { PduReader, encodeCommandSet } from '../../agent/receive/pdu-path';
import { A_RELEASE_RP, abortPdu, pDataPdu, parseCommandSet } from '../../agent/upload/dicom-tls-transport';
import { STORAGE_COMMITMENT_PUSH_MODEL, STORAGE_COMMITMENT_SOP_INSTANCE, encodeCommitmentDataset, parseCommitmentReport, type SopReference } from '../../agent/upload/commitment-dataset';

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
  /** Storage Commitment (default: the SOP class is accepted, reports on the same association). */
  commitment?: CommitmentBehavior;
}

export interface CommitmentBehavior {
  /** Reject the Storage Commitment presentation context (result 3): the peer does not commit. */
  reject?: boolean;
  /** Answer N-ACTION with this failure status. */
  actionStatus?: number;
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
      if (type === 0x01) {
        callingAe = pdu.toString('latin1', 26, 42).trim();
        const calledAe = pdu.toString('latin1', 10, 26).trim();
        if (behavior.mode === 'silent-association') return;
        if (behavior.mode === 'reject') {
          socket.end(Buffer.from([0x03, 0, 0, 0, 0, 4, 0, behavior.result, behavior.source, behavior.reason]));
          done = true;
          return;
        }
        if (calledAe !== aeTitle) {
          socket.end(Buffer.from([0x03, 0, 0, 0, 0, 4, 0, 1, 1, 7]));
          done = true;
          return;
        }
        const items: Buffer[] = [uid(0x10, '1.2.840.10008.3.1.1.1')];
        for (let pos = 74; pos + 4 <= pdu.length; pos += 4 + pdu.readUInt16BE(pos + 2)) {
          if (pdu[pos] !== 0x20) continue;
          const end = pos + 4 + pdu.readUInt16BE(pos + 2);
          const id = pdu[pos + 4];
          let abstractSyntax = '';
          const offered: string[] = [];
          for (let sub = pos + 8; sub + 4 <= end; sub += 4 + pdu.readUInt16BE(sub + 2)) {
            const value = pdu.toString('latin1', sub + 4, sub + 4 + pdu.readUInt16BE(sub + 2)).replace(/\0+$/, '');
            if (pdu[sub] === 0x30) abstractSyntax = value;
            else if (pdu[sub] === 0x40) offered.push(value);
          }
          const refused = abstractSyntax === STORAGE_COMMITMENT_PUSH_MODEL && scp.commitment.reject;
          const chosen = refused ? undefined : offered.find((ts) => !options.acceptedTransferSyntaxes || options.acceptedTransferSyntaxes.includes(ts));
          if (chosen) contexts.set(id, { abstractSyntax, transferSyntax: chosen });
          items.push(item(0x21, Buffer.concat([Buffer.from([id, 0, chosen ? 0 : refused ? 3 : 4, 0]), uid(0x40, chosen ?? offered[0] ?? '')])));
        }
        const maxLength = Buffer.alloc(4);
        maxLength.writeUInt32BE(maxPdu);
        items.push(item(0x50, Buffer.concat([item(0x51, maxLength), uid(0x52, '1.2.826.0.1.3680043.10.1451.99')])));
        const body = Buffer.concat([pdu.subarray(6, 74), ...items]);
        const header = Buffer.alloc(6);
        header[0] = 0x02;
        header.writeUInt32BE(body.length, 2);
        associations++;
        socket.write(Buffer.concat([header, body]));
        return;
      }
      if (type === 0x05) {
        socket.end(A_RELEASE_RP);
        done = true;
        return;
      }
      if (type === 0x07) {
        socket.destroy();
        done = true;
        return;
      }
      if (type !== 0x04) return;
      largestPdu = Math.max(largestPdu, pdu.length - 6);
      let contextId = 0;
      let lastData = false;
      for (let pos = 6; pos + 6 <= pdu.length; ) {
        const length = pdu.readUInt32BE(pos);
        contextId = pdu[pos + 4];
        const control = pdu[pos + 5];
        const value = Buffer.from(pdu.subarray(pos + 6, pos + 4 + length));
        if (control & 0x01) command.push(value);
        else {
          data.push(value);
          dataBytes += value.length;
          if (control & 0x02) lastData = true;
        }
        pos += 4 + length;
      }
      if (behavior.mode === 'abort' && dataBytes > (behavior.afterBytes ?? 0)) {
        socket.end(abortPdu(2, 0));
        done = true;
        return;
      }
      const commandSet = parseCommandSet(Buffer.concat(command));
      if (commandSet.commandField === 0x8100 && commandSet.commandDataSetType === 0x0101) {
        // The gateway's N-EVENT-REPORT-RSP.
        const answered = commitmentRequests.find((r) => r.reportAnswer === undefined);
        if (answered) answered.reportAnswer = commandSet.status;
        command = [];
        return;
      }
      if (!lastData) return;
      if (commandSet.commandField === 0x0130) {
        answerCommitment(contextId, commandSet.messageId ?? 0, Buffer.concat(data));
        command = [];
        data = [];
        dataBytes = 0;
        return;
      }
      const request = readCommand(Buffer.concat(command));
      const dataset = Buffer.concat(data);
      command = [];
      data = [];
      dataBytes = 0;
      if (behavior.mode === 'silent') return;
      const context = contexts.get(contextId);
      const status = behavior.mode === 'status' ? behavior.status : 0;
      const keep = status === 0 || (status & 0xf000) === 0xb000;
      if (keep && context) {
        stored.push({ sopClassUid: request.sopClassUid, sopInstanceUid: request.sopInstanceUid, transferSyntaxUid: context.transferSyntax, callingAe, dataset });
        if (options.storeDir) fs.writeFileSync(path.join(options.storeDir, `${request.sopInstanceUid}.dataset`), dataset);
      }
      const response = encodeCommandSet({
        AffectedSOPClassUID: request.sopClassUid,
        CommandField: 0x8001,
        MessageIDBeingRespondedTo: request.messageId,
        CommandDataSetType: 0x0101,
        Status: status,
        ErrorComment: behavior.mode === 'status' ? behavior.errorComment : undefined,
        AffectedSOPInstanceUID: request.sopInstanceUid,
      })!;
      socket.write(pDataPdu(contextId, response, true, true));
    };

    /** N-ACTION-RSP, then (unless told otherwise) the N-EVENT-REPORT-RQ on this association. */
    const answerCommitment = (contextId: number, messageId: number, dataset: Buffer) => {
      const request = parseCommitmentReport(dataset);
      commitmentRequests.push({ transactionUid: request.transactionUid, instances: request.committed });
      const behavior = scp.commitment;
      const response = encodeCommandSet({
        AffectedSOPClassUID: STORAGE_COMMITMENT_PUSH_MODEL,
        CommandField: 0x8130,
        MessageIDBeingRespondedTo: messageId,
        CommandDataSetType: 0x0101,
        Status: behavior.actionStatus ?? 0,
        AffectedSOPInstanceUID: STORAGE_COMMITMENT_SOP_INSTANCE,
      })!;
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
      const report = encodeCommandSet({
        AffectedSOPClassUID: STORAGE_COMMITMENT_PUSH_MODEL,
        CommandField: 0x0100,
        MessageID: 1,
        CommandDataSetType: 0x0000,
        AffectedSOPInstanceUID: STORAGE_COMMITMENT_SOP_INSTANCE,
        EventTypeID: failed.length > 0 ? 2 : 1,
      })!;
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  scp.port = (server.address() as net.AddressInfo).port;
  return scp;
}

function item(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header[0] = type;
  header.writeUInt16BE(body.length, 2);
  return Buffer.concat([header, body]);
}

function uid(type: number, value: string): Buffer {
  return item(type, Buffer.from(value, 'latin1'));
}

function readCommand(commandSet: Buffer): { sopClassUid: string; sopInstanceUid: string; messageId: number } {
  const out = { sopClassUid: '', sopInstanceUid: '', messageId: 0 };
  for (let pos = 0; pos + 8 <= commandSet.length; ) {
    const element = commandSet.readUInt16LE(pos + 2);
    const length = commandSet.readUInt32LE(pos + 4);
    const value = commandSet.subarray(pos + 8, pos + 8 + length);
    if (element === 0x0002) out.sopClassUid = value.toString('latin1').replace(/\0+$/, '');
    else if (element === 0x1000) out.sopInstanceUid = value.toString('latin1').replace(/\0+$/, '');
    else if (element === 0x0110) out.messageId = value.readUInt16LE(0);
    pos += 8 + length;
  }
  return out;
}
