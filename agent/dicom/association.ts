// The client side of an association (PS3.8): propose, read the answer, exchange DIMSE messages, release or abort.
// Used for C-ECHO (connectivity test, `gateway echo`), C-STORE and N-ACTION (the DICOM-TLS transport). The caller
// opens the socket (plain TCP, or TLS to the cloud) and hands it here.
import type net from 'node:net';
import { parseCommandSet, type CommandElements } from './command';
import { DicomError, type DicomErrorKind } from './dicom-error';
import {
  A_RELEASE_RQ,
  CLIENT_MAX_PDU_LENGTH,
  CLIENT_PDU_LIMIT,
  ContextResult,
  PduType,
  PDU_HEADER_LENGTH,
  describeRejectReason,
  encodeAbort,
  encodeAssociateRequest,
  pDataPdu,
  parseAbort,
  parseAssociateAccept,
  parseAssociateReject,
  parsePData,
  type ProposedContext,
} from './pdu';
import { PduReader } from './pdu-reader';

export interface NegotiatedContext {
  id: number;
  abstractSyntax: string;
  /** Undefined when the context was rejected. */
  transferSyntax?: string;
  /** PS3.8 9.3.3.2 result (ContextResult); a context the peer left out of its answer counts as rejected, no reason. */
  result: number;
  /** The transfer syntaxes we proposed in it. */
  proposed: string[];
}

export interface AssociationOptions {
  /** How messages name the peer: "the cloud", or "GATEWAY at 10.0.0.5:4104". */
  peer: string;
  /** Bytes write() may leave queued in the socket before it waits for 'drain' (default 0: wait whenever the socket asks). */
  inFlightBytes?: number;
  /** A socket error in words (the transport names TLS failures and their fixes); default: its message. */
  describeSocketError?: (err: Error) => string;
}

export interface AssociationProposal {
  calledAe: string;
  callingAe: string;
  /** Proposed with ids 1, 3, 5... */
  contexts: ProposedContext[];
  /** How long to wait for the answer, and (later) for every response. */
  timeoutMs: number;
}

/** One DIMSE message: its command set, and its dataset when the command announces one. */
export interface DimseMessage {
  contextId: number;
  command: CommandElements;
  dataset?: Buffer;
}

/** Why an association can no longer be used. */
interface Ended {
  kind: DicomErrorKind;
  reason: string;
  cause?: Error;
}

/** Cap on one PDV's data when the peer sets no maximum PDU length (0 = unlimited). */
const UNLIMITED_PDV = 1024 * 1024;

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

export class ClientAssociation {
  private readonly reader = new PduReader();
  private readonly pdus: Buffer[] = [];
  private waiter?: () => void;
  private messageId = 0;
  /** Why the association can no longer be used (set once). */
  private ended?: Ended;
  readonly peer: string;
  private readonly inFlightBytes: number;
  contexts: NegotiatedContext[] = [];
  /** The peer's maximum PDU length (0: none). */
  maxPduLength = 0;
  lastUsed = Date.now();
  /** Instances stored over this association. */
  stored = 0;
  /** Called when the peer sends a PDU while nobody waits for one (a Storage Commitment report between operations). */
  onUnexpectedPdu?: () => void;

  /** Proposes the contexts on an open socket; resolves once the peer accepted. Rejections and failures throw DicomErrors. */
  static async open(socket: net.Socket, proposal: AssociationProposal, options: AssociationOptions): Promise<ClientAssociation> {
    const association = new ClientAssociation(socket, options);
    try {
      const request = encodeAssociateRequest({ calledAe: proposal.calledAe, callingAe: proposal.callingAe, contexts: proposal.contexts, maxPduLength: CLIENT_MAX_PDU_LENGTH });
      await association.write(request, proposal.timeoutMs);
      const answer = await association.nextPdu(proposal.timeoutMs, 'the association answer');
      if (answer[0] === PduType.AssociateReject) {
        const reject = parseAssociateReject(answer);
        throw new DicomError(
          'rejected',
          `${options.peer} rejected the association ${reject.result === 1 ? 'permanently' : 'transiently'} (result ${reject.result}, source ${reject.source}, reason ${reject.reason}: ${describeRejectReason(reject)})`,
          { reject },
        );
      }
      if (answer[0] !== PduType.AssociateAccept) {
        association.abort('unexpected PDU');
        throw new DicomError('protocol', `${options.peer} answered the association request with PDU type ${answer[0]}`);
      }
      const accepted = parseAssociateAccept(answer);
      association.maxPduLength = accepted.maxPduLength;
      association.contexts = proposal.contexts.map((context, i) => {
        const id = 1 + 2 * i;
        const answered = accepted.contexts.find((c) => c.id === id);
        const result = answered?.result ?? ContextResult.NoReason;
        return { id, abstractSyntax: context.abstractSyntax, proposed: context.transferSyntaxes, result, transferSyntax: result === ContextResult.Acceptance ? answered?.transferSyntax : undefined };
      });
      return association;
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  private constructor(
    private readonly socket: net.Socket,
    options: AssociationOptions,
  ) {
    this.peer = options.peer;
    this.inFlightBytes = options.inFlightBytes ?? 0;
    const describe = options.describeSocketError ?? ((err: Error) => err.message);
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      for (let next = this.reader.header(); next; next = this.reader.header()) {
        // Checked from the header, before the body is buffered: an absurd length costs nothing.
        if (next.type < PduType.AssociateRequest || next.type > PduType.Abort || next.length > CLIENT_PDU_LIMIT) {
          this.end('protocol', `${this.peer} sent an invalid PDU (type ${next.type}, ${next.length} bytes)`);
          socket.destroy();
          return;
        }
        if (this.reader.buffered < next.length + PDU_HEADER_LENGTH) break;
        this.pdus.push(Buffer.from(this.reader.take(next.length + PDU_HEADER_LENGTH)));
      }
      if (!this.waiter && this.pdus.length > 0) this.onUnexpectedPdu?.();
      this.wake();
    });
    socket.on('error', (err: Error) => this.end('network', describe(err), err));
    socket.on('close', () => this.end('network', `${this.peer} closed the connection`));
    socket.on('drain', () => this.wake());
  }

  get usable(): boolean {
    return this.ended === undefined && !this.socket.destroyed;
  }

  /** True when the peer sent a PDU nobody has read yet. */
  get hasPdu(): boolean {
    return this.pdus.length > 0;
  }

  /** The context proposed for this abstract syntax with this transfer syntax; `accepted` when the peer took it in that syntax. */
  context(abstractSyntax: string, transferSyntax: string): (NegotiatedContext & { accepted: boolean }) | undefined {
    const context = this.contexts.find((c) => c.abstractSyntax === abstractSyntax && c.proposed.includes(transferSyntax));
    return context && { ...context, accepted: context.result === ContextResult.Acceptance && context.transferSyntax === transferSyntax };
  }

  nextMessageId(): number {
    this.messageId = (this.messageId % 0xffff) + 1;
    return this.messageId;
  }

  private end(kind: DicomErrorKind, reason: string, cause?: Error): void {
    this.ended ??= { kind, reason, cause };
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

  /** An A-ABORT from the peer ends the association (destroys the socket): the error to throw. */
  private peerAborted(pdu: Buffer): Ended {
    const { source, reason } = parseAbort(pdu);
    this.end('aborted', `${this.peer} aborted the association (A-ABORT source ${source}, reason ${reason})`);
    this.socket.destroy();
    return this.ended!;
  }

  /** The next PDU from the peer, within timeoutMs; an A-ABORT or a closed connection is an error. */
  async nextPdu(timeoutMs: number, waitingFor: string): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pdu = this.pdus.shift();
      if (pdu) {
        if (pdu[0] !== PduType.Abort) return pdu;
        throw this.endedError(this.peerAborted(pdu), ` while we waited for ${waitingFor}`);
      }
      if (this.ended) throw this.endedError(this.ended, ` while we waited for ${waitingFor}`);
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.wait(left))) {
        if (this.pdus.length > 0) continue;
        this.abort(`no answer within ${seconds(timeoutMs)}`, 'timeout');
        throw new DicomError('timeout', `${this.peer} did not answer within ${seconds(timeoutMs)} (waiting for ${waitingFor}); the association was aborted`);
      }
    }
  }

  /** The next DIMSE message. A command without (0000,0800) is taken as dataset-less: waiting for a dataset that never comes would hang. */
  async nextMessage(timeoutMs: number, waitingFor: string): Promise<DimseMessage> {
    const command: Buffer[] = [];
    const dataset: Buffer[] = [];
    let contextId = 0;
    let parsed: CommandElements | undefined;
    for (;;) {
      const pdu = await this.nextPdu(timeoutMs, waitingFor);
      if (pdu[0] !== PduType.PData) {
        this.abort('unexpected PDU');
        throw new DicomError('protocol', `${this.peer} sent PDU type ${pdu[0]} while we waited for ${waitingFor}`);
      }
      for (const pdv of parsePData(pdu)) {
        contextId = pdv.contextId;
        (pdv.command ? command : dataset).push(pdv.value);
        if (pdv.command && pdv.last) parsed = parseCommandSet(Buffer.concat(command));
        if (parsed && (parsed.CommandDataSetType === undefined || parsed.CommandDataSetType === 0x0101 || (!pdv.command && pdv.last))) {
          return { contextId, command: parsed, dataset: dataset.length > 0 ? Buffer.concat(dataset) : undefined };
        }
      }
    }
  }

  /** The next message, which must be a response with this command field and a status. */
  async nextResponse(commandField: number, timeoutMs: number, waitingFor: string): Promise<DimseMessage & { status: number }> {
    const message = await this.nextMessage(timeoutMs, waitingFor);
    const status = message.command.Status;
    if (message.command.CommandField !== commandField || status === undefined) {
      this.abort('bad response');
      throw new DicomError('protocol', `${this.peer} sent command field 0x${(message.command.CommandField ?? 0).toString(16).padStart(4, '0')} instead of ${waitingFor}`);
    }
    return { ...message, status };
  }

  /**
   * Writes, waiting for the socket to drain when more than inFlightBytes are queued; throws if the association
   * ended. Several buffers (a PDU's header and its fragment) go out in one TLS record write, not one each.
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
    if (flowing || this.socket.writableLength <= this.inFlightBytes) return;
    const deadline = Date.now() + timeoutMs;
    while (this.socket.writableNeedDrain) {
      this.checkPeer();
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.wait(left))) {
        if (!this.socket.writableNeedDrain) break;
        this.abort(`could not send for ${seconds(timeoutMs)}`, 'timeout');
        throw new DicomError('timeout', `${this.peer} stopped reading for ${seconds(timeoutMs)} while we sent; the association was aborted`);
      }
    }
    this.checkPeer();
  }

  /** Writes one message: its command set in one PDU, then its dataset (if any) cut to the peer's maximum PDU length. */
  async sendMessage(contextId: number, command: Buffer, dataset: Buffer | undefined, timeoutMs: number): Promise<void> {
    await this.write(pDataPdu(contextId, command, true, true), timeoutMs);
    if (!dataset) return;
    const room = this.maxPdvLength();
    for (let at = 0; at < dataset.length; at += room) {
      await this.write(pDataPdu(contextId, dataset.subarray(at, at + room), false, at + room >= dataset.length), timeoutMs);
    }
  }

  /** The most dataset bytes one PDV may carry to this peer: even, at least 256. */
  maxPdvLength(): number {
    return Math.max(256, Math.min(this.maxPduLength > 0 ? this.maxPduLength - 6 : UNLIMITED_PDV, UNLIMITED_PDV)) & ~1;
  }

  /** During a transfer the peer should not speak: an A-ABORT or a close ends it. */
  private checkPeer(): void {
    const abort = this.pdus.find((pdu) => pdu[0] === PduType.Abort);
    if (abort) this.peerAborted(abort);
    if (this.ended) throw this.endedError(this.ended, '');
  }

  private endedError(ended: Ended, context: string): DicomError {
    return new DicomError(ended.kind, `${ended.reason}${context}`, { cause: ended.cause });
  }

  /** Sends A-ABORT (if the connection still works) and closes. */
  abort(reason: string, kind: DicomErrorKind = 'protocol'): void {
    if (this.usable) this.socket.end(encodeAbort(0, 0));
    this.end(kind, reason);
    setTimeout(() => this.socket.destroy(), 500).unref();
  }

  /** A-RELEASE-RQ, then waits up to timeoutMs for the answer; the connection is closed either way. */
  async release(timeoutMs: number): Promise<void> {
    if (!this.usable) {
      this.socket.destroy();
      return;
    }
    try {
      this.socket.write(A_RELEASE_RQ);
      this.end('network', 'released');
      const deadline = Date.now() + timeoutMs;
      while (!this.pdus.some((pdu) => pdu[0] === PduType.ReleaseResponse || pdu[0] === PduType.Abort) && !this.socket.destroyed && Date.now() < deadline) {
        await this.wait(deadline - Date.now());
      }
    } finally {
      this.socket.end();
      this.socket.destroy();
    }
  }
}
