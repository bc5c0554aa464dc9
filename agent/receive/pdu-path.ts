// Our one override of dcmjs-dimse 0.3.3 internals (Network is not exported; Scp and Client extend it).
// Imported for its side effect before any association exists. Measured reasons, see README "Performance":
//  - PDU reassembly: the library concatenates everything received so far on every socket read (quadratic in the
//    PDU length: 64 MiB took 19 s) and routes each PDU through an async event emitter. Here: a chunk list; control
//    PDUs handed whole to _processPdu in order; P-DATA-TF PDUs are not assembled at all: their PDVs go to the
//    library's _processPDataTf as fragments, views of the socket's own buffers, as they arrive (no copy, no 256 KiB
//    allocation per PDU, and the spool write overlaps the transfer).
//  - Hostile input: the library buffers any announced length (0xFFFFFFFF grew to 390 MB). Here the type and
//    length are checked before buffering; a bad PDU ends the association with A-ABORT.
//  - Timeouts: the library never starts its association timer for accepted sockets. Here: the A-ASSOCIATE-RQ
//    and every started PDU must complete within associationTimeout (our limits.pduTimeoutSeconds); no complete
//    PDU for pduTimeout (our limits.idleTimeoutSeconds) ends an idle association.
//  - Our A-ASSOCIATE-AC announces our full maximum PDU length, so senders send large PDUs (the library echoes
//    min(peer, ours), which made DCMTK send 16 KiB PDUs).
//  - Dataset-less responses (C-STORE-RSP, C-ECHO-RSP) are encoded directly: dcmjs took ~150 us per response.
import * as dimse from 'dcmjs-dimse';

const { Implementation } = dimse;
const { AbortSource, AbortReason } = dimse.constants;

interface NetworkInternals {
  socket: import('node:net').Socket;
  association?: { getMaxPduLength(): number; setMaxPduLength(length: number): void };
  connectTimeout: number;
  associationTimeout: number;
  pduTimeout: number;
  connected: boolean;
  connectedTime?: number;
  lastPduTime?: number;
  logId?: string;
  timeoutIntervalId?: NodeJS.Timeout;
  statistics: { addBytesReceived(n: number): void; addBytesSent(n: number): void };
  emit(event: string, ...args: unknown[]): void;
  sendAbort(source: number, reason: number): void;
  _reset(): void;
  _processPdu(pdu: Buffer): Promise<void>;
  _processPDataTf(pData: { getPdvs(): PdvFragment[] }): Promise<void>;
}

const proto = Object.getPrototypeOf(dimse.Scp.prototype) as Record<string, (...args: any[]) => any>;
if (typeof proto._wrapSocket !== 'function' || typeof proto._sendPDataTF !== 'function' || typeof proto._processPdu !== 'function') {
  throw new Error(`dcmjs-dimse ${dimse.version} does not have the internals agent/receive/pdu-path.ts overrides; review it before upgrading`);
}

/** Control PDUs (A-ASSOCIATE-RQ with many contexts or a user identity token) stay far below this. */
export const MAX_CONTROL_PDU_LENGTH = 1 << 20;
const P_DATA_TF = 4;
const A_ASSOCIATE_RQ = 1;

/** Cuts a byte stream into PDUs without re-copying what it has buffered. */
export class PduReader {
  private chunks: Buffer[] = [];
  private total = 0;

  get buffered(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Type and length of the next PDU, once its 6-byte header is here. */
  header(): { type: number; length: number } | undefined {
    if (this.total < 6) return undefined;
    const head = this.chunks[0].length >= 6 ? this.chunks[0] : this.copyOut(6, false);
    return { type: head[0], length: head.readUInt32BE(2) };
  }

  /** Removes and returns the next n bytes: a view when they sit in one chunk, else one copy. */
  take(n: number): Buffer {
    const first = this.chunks[0];
    if (first.length >= n) {
      this.total -= n;
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    return this.copyOut(n, true);
  }

  /** Removes and returns up to n bytes, never copying: a view of the first buffered chunk. */
  takeUpTo(n: number): Buffer {
    const first = this.chunks[0];
    if (first.length <= n) {
      this.chunks.shift();
      this.total -= first.length;
      return first;
    }
    this.chunks[0] = first.subarray(n);
    this.total -= n;
    return first.subarray(0, n);
  }

  private copyOut(n: number, consume: boolean): Buffer {
    const out = Buffer.allocUnsafe(n);
    let offset = 0;
    let index = 0;
    while (offset < n) {
      const chunk = this.chunks[index];
      const count = Math.min(chunk.length, n - offset);
      chunk.copy(out, offset, 0, count);
      offset += count;
      if (!consume) index++;
      else if (count === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(count);
    }
    if (consume) this.total -= n;
    return out;
  }
}

/** One piece of a PDV's value, as the library's _processPDataTf reads PDVs. */
export interface PdvFragment {
  getPresentationContextId(): number;
  isCommand(): boolean;
  /** True on the piece that ends a PDV marked as the message's last fragment. */
  isLastFragment(): boolean;
  getValue(): Buffer;
}

/**
 * Cuts the PDVs of a P-DATA-TF PDU into fragments as its bytes arrive. A PDV split over several socket reads
 * becomes several fragments, only the final one keeping the PDV's last-fragment flag: the library appends each
 * fragment's value to the message's stream, so the split is invisible to it.
 */
export class PDataSplitter {
  private pduLeft = 0;
  private pdvLeft = 0;
  private presentationContextId = 0;
  private control = 0;

  get inPdu(): boolean {
    return this.pduLeft > 0;
  }

  /** After the 6-byte PDU header of a P-DATA-TF: `length` body bytes follow. */
  start(length: number): void {
    this.pduLeft = length;
  }

  /** The next fragment from the buffered bytes; undefined when more bytes are needed or the PDU is done. Throws on a malformed PDV. */
  next(reader: PduReader): PdvFragment | undefined {
    if (this.pdvLeft === 0) {
      if (this.pduLeft === 0) return undefined;
      if (this.pduLeft < 6) throw new Error(`P-DATA-TF ends with ${this.pduLeft} bytes that cannot hold a PDV header`);
      if (reader.buffered < 6) return undefined;
      const head = reader.take(6);
      const pdvLength = head.readUInt32BE(0);
      if (pdvLength < 2 || pdvLength + 4 > this.pduLeft) throw new Error(`PDV of ${pdvLength} bytes in a P-DATA-TF with ${this.pduLeft - 4} bytes left for it`);
      this.presentationContextId = head[4];
      this.control = head[5];
      this.pduLeft -= 6;
      this.pdvLeft = pdvLength - 2;
      if (this.pdvLeft === 0) return this.fragment(Buffer.alloc(0));
    }
    if (reader.buffered === 0) return undefined;
    const value = reader.takeUpTo(this.pdvLeft);
    this.pdvLeft -= value.length;
    this.pduLeft -= value.length;
    return this.fragment(value);
  }

  private fragment(value: Buffer): PdvFragment {
    const presentationContextId = this.presentationContextId;
    const command = (this.control & 1) !== 0;
    const last = this.pdvLeft === 0 && (this.control & 2) !== 0;
    return { getPresentationContextId: () => presentationContextId, isCommand: () => command, isLastFragment: () => last, getValue: () => value };
  }
}

proto._wrapSocket = function wrapSocket(this: NetworkInternals) {
  const socket = this.socket;
  const isScp = this instanceof dimse.Scp;
  const reader = new PduReader();
  const pData = new PDataSplitter();
  let partialSince: number | undefined;
  let failed = false;
  socket.setTimeout(this.connectTimeout);
  if (!socket.connecting) {
    this.connected = true;
    this.connectedTime = Date.now();
  }
  socket.on('connect', () => {
    this.connected = true;
    this.connectedTime = Date.now();
    this.emit('connect');
  });

  const fail = (message: string, reason: number) => {
    if (failed) return;
    failed = true;
    if (this.association) this.sendAbort(AbortSource.ServiceProvider, reason);
    this._reset();
    socket.end();
    setTimeout(() => socket.destroy(), 1000).unref();
    this.emit('networkError', new Error(message));
  };

  socket.on('data', (chunk: Buffer) => {
    if (failed) return;
    this.statistics.addBytesReceived(chunk.length);
    reader.push(chunk);
    for (;;) {
      if (pData.inPdu) {
        let fragment: PdvFragment | undefined;
        try {
          fragment = pData.next(reader);
        } catch (err) {
          return fail((err as Error).message, AbortReason.InvalidPduParameter);
        }
        if (fragment) void this._processPDataTf({ getPdvs: () => [fragment] });
        else if (pData.inPdu) break;
        continue;
      }
      const next = reader.header();
      if (!next) break;
      const { type, length } = next;
      if (type < 1 || type > 7) return fail(`unknown PDU type ${type}`, AbortReason.UnrecognizedPdu);
      if (isScp && this.lastPduTime === undefined && type !== A_ASSOCIATE_RQ) return fail(`first PDU is of type ${type}, not an association request`, AbortReason.UnexpectedPdu);
      const limit = type === P_DATA_TF ? Math.max(Implementation.getMaxPduLength(), isScp ? 0 : this.association?.getMaxPduLength() ?? 0) : MAX_CONTROL_PDU_LENGTH;
      if (length > limit) return fail(`PDU of type ${type} announces ${length} bytes, over the limit of ${limit}`, AbortReason.InvalidPduParameter);
      if (type === P_DATA_TF && this.association) {
        reader.take(6);
        this.lastPduTime = Date.now();
        pData.start(length);
        continue;
      }
      if (reader.buffered < length + 6) break;
      this.lastPduTime = Date.now();
      void this._processPdu(reader.take(length + 6));
    }
    partialSince = reader.buffered > 0 || pData.inPdu ? partialSince ?? Date.now() : undefined;
  });
  socket.on('error', (err: Error) => {
    this._reset();
    this.emit('networkError', new Error(`connection error: ${err.message}`));
  });
  socket.on('timeout', () => {
    this._reset();
    this.emit('networkError', new Error(`connection timeout: no traffic for ${this.connectTimeout} ms`));
  });
  socket.on('close', () => {
    this._reset();
    this.emit('close');
  });
  this.timeoutIntervalId = setInterval(() => {
    const now = Date.now();
    if (!this.connected) return;
    if (this.lastPduTime === undefined && now - (this.connectedTime ?? now) >= this.associationTimeout) {
      fail(`association timeout: no association request within ${this.associationTimeout} ms`, AbortReason.NotSpecified);
    } else if (partialSince !== undefined && now - partialSince >= this.associationTimeout) {
      fail(`PDU timeout: a PDU was not completed within ${this.associationTimeout} ms`, AbortReason.NotSpecified);
    } else if (this.lastPduTime !== undefined && now - this.lastPduTime >= this.pduTimeout) {
      fail(`idle timeout: no PDU for ${this.pduTimeout} ms`, AbortReason.NotSpecified);
    }
  }, 1000);
  this.timeoutIntervalId.unref();
};

const originalSendAssociationAccept = proto.sendAssociationAccept;
proto.sendAssociationAccept = function sendAssociationAccept(this: NetworkInternals) {
  this.association!.setMaxPduLength(Implementation.getMaxPduLength());
  return originalSendAssociationAccept.call(this);
};

// Implicit VR little endian tags and VRs of command elements (PS3.7 E.1).
const COMMAND_ELEMENTS: Record<string, [number, 'UI' | 'US' | 'LO' | 'AE']> = {
  AffectedSOPClassUID: [0x0002, 'UI'],
  RequestedSOPClassUID: [0x0003, 'UI'],
  CommandField: [0x0100, 'US'],
  MessageID: [0x0110, 'US'],
  MessageIDBeingRespondedTo: [0x0120, 'US'],
  MoveDestination: [0x0600, 'AE'],
  Priority: [0x0700, 'US'],
  CommandDataSetType: [0x0800, 'US'],
  Status: [0x0900, 'US'],
  ErrorComment: [0x0902, 'LO'],
  ErrorID: [0x0903, 'US'],
  AffectedSOPInstanceUID: [0x1000, 'UI'],
  RequestedSOPInstanceUID: [0x1001, 'UI'],
  EventTypeID: [0x1002, 'US'],
  ActionTypeID: [0x1008, 'US'],
  NumberOfRemainingSuboperations: [0x1020, 'US'],
  NumberOfCompletedSuboperations: [0x1021, 'US'],
  NumberOfFailedSuboperations: [0x1022, 'US'],
  NumberOfWarningSuboperations: [0x1023, 'US'],
};

/** Encodes a command set (group 0000, implicit VR LE, with its group length); undefined for anything unusual. */
export function encodeCommandSet(elements: Record<string, unknown>): Buffer | undefined {
  const encoded: Array<[number, Buffer]> = [];
  for (const [name, value] of Object.entries(elements)) {
    if (value === undefined || value === null || value === '') continue;
    const known = COMMAND_ELEMENTS[name];
    if (!known) return undefined;
    const [element, vr] = known;
    let bytes: Buffer;
    if (vr === 'US') {
      if (typeof value !== 'number') return undefined;
      bytes = Buffer.alloc(2);
      bytes.writeUInt16LE(value);
    } else {
      if (typeof value !== 'string') return undefined;
      bytes = Buffer.from(value.length % 2 ? `${value}${vr === 'UI' ? '\0' : ' '}` : value, 'latin1');
    }
    encoded.push([element, bytes]);
  }
  encoded.sort((a, b) => a[0] - b[0]);
  const bodyLength = encoded.reduce((sum, [, bytes]) => sum + 8 + bytes.length, 0);
  const out = Buffer.allocUnsafe(12 + bodyLength);
  out.writeUInt32LE(0x00000000, 0);
  out.writeUInt32LE(4, 4);
  out.writeUInt32LE(bodyLength, 8);
  let offset = 12;
  for (const [element, bytes] of encoded) {
    out.writeUInt16LE(0x0000, offset);
    out.writeUInt16LE(element, offset + 2);
    out.writeUInt32LE(bytes.length, offset + 4);
    bytes.copy(out, offset + 8);
    offset += 8 + bytes.length;
  }
  return out;
}

const originalSendPDataTF = proto._sendPDataTF;
proto._sendPDataTF = function sendPDataTF(this: NetworkInternals, command: any, presentationContextId: number, maxPduLength: number) {
  const commandSet = command.getDataset() ? undefined : encodeCommandSet(command.getCommandDataset().getElements());
  if (!commandSet) return originalSendPDataTF.call(this, command, presentationContextId, maxPduLength);
  // One PDU, one PDV: message control header 0x03 = command, last fragment. Command sets are ~100-200 bytes.
  const pdu = Buffer.allocUnsafe(12 + commandSet.length);
  pdu[0] = P_DATA_TF;
  pdu[1] = 0;
  pdu.writeUInt32BE(6 + commandSet.length, 2);
  pdu.writeUInt32BE(2 + commandSet.length, 6);
  pdu[10] = presentationContextId;
  pdu[11] = 0x03;
  commandSet.copy(pdu, 12);
  this.socket.write(pdu);
  this.statistics.addBytesSent(pdu.length);
};
