// Our one override of dcmjs-dimse 0.3.3 internals (Network is not exported; Scp and Client extend it), installed by
// installDimseOverrides(), which the receiver calls before it accepts a connection. Measured reasons, see README
// "Performance":
//  - PDU reassembly: the library concatenates everything received so far on every socket read (quadratic in the
//    PDU length: 64 MiB took 19 s) and routes each PDU through an async event emitter. Here: a chunk list; control
//    PDUs handed whole to _processPdu in order; P-DATA-TF PDUs are not assembled at all: their PDVs go to the
//    library's _processPDataTf as fragments, views of the socket's own buffers, as they arrive (no copy, no 256 KiB
//    allocation per PDU, and the spool write overlaps the transfer).
//  - Hostile input: the library buffers any announced length (0xFFFFFFFF grew to 390 MB). Here the type and
//    length are checked before buffering; a bad PDU ends the association with A-ABORT. It also holds every
//    command set and every dataset but a C-STORE's whole until its last fragment: each message has a byte budget
//    (message-budget.ts), counted before a fragment reaches the library; over it, A-ABORT.
//  - After our A-ABORT: nothing more is processed, but what the peer still sends is read and dropped until it
//    closes (or ABORT_LINGER_MS): closing a socket with unread data resets the connection, and the peer's kernel
//    then drops our A-ABORT before its program reads it.
//  - State (PS3.8 9.2, as an SCP): the first PDU must be an A-ASSOCIATE-RQ; until we accept it only an A-ABORT may
//    follow (the library would otherwise process P-DATA while the accept waits on the database); once accepted,
//    P-DATA-TF, A-RELEASE-RQ and A-ABORT; after a release request only A-ABORT. Anything else (a second
//    A-ASSOCIATE-RQ, an A-ASSOCIATE-AC/RJ, an A-RELEASE-RP) is an A-ABORT (AA-8). After we reject or abort, nothing
//    more is processed.
//  - Timeouts: the library never starts its association timer for accepted sockets. Here: the A-ASSOCIATE-RQ
//    must be complete within firstPduTimeout (our limits.firstPduTimeoutSeconds; associationTimeout when unset),
//    every started PDU within associationTimeout (our limits.pduTimeoutSeconds); no complete
//    PDU for pduTimeout (our limits.idleTimeoutSeconds) ends an idle association.
//  - Our A-ASSOCIATE-AC announces our full maximum PDU length, so senders send large PDUs (the library echoes
//    min(peer, ours), which made DCMTK send 16 KiB PDUs).
//  - Dataset-less responses (C-STORE-RSP, C-ECHO-RSP) are encoded directly: dcmjs took ~150 us per response.
//  - C-STORE requests bypass the library on a receiver that takes them directly (StoreScp.receiveStore): the
//    command set the message budget has already parsed opens the store, the dataset's fragments go to it as they
//    arrive, and the store answers with sendCommand. The library parsed each command again through dcmjs, built
//    request and response objects and dispatched through an async event emitter: ~0.7 ms of CPU per instance.
import * as dimse from 'dcmjs-dimse';
import { encodeCommandSet, type CommandElements } from '../dicom/command';
import { DicomError, type DicomErrorKind } from '../dicom/dicom-error';
import { MAX_CONTROL_PDU_LENGTH, PduType, encodeAbort, pDataHeader } from '../dicom/pdu';
import { PDataSplitter, PduReader, type PdvFragment } from '../dicom/pdu-reader';
import { errorMessage } from '../errors';
import { DEFAULT_MAX_MESSAGE_DATASET_BYTES, MessageBudget } from './message-budget';

const { Implementation } = dimse;
const { AbortSource, AbortReason } = dimse.constants;

interface NetworkInternals {
  socket: import('node:net').Socket;
  association?: { getMaxPduLength(): number; setMaxPduLength(length: number): void };
  connectTimeout: number;
  associationTimeout: number;
  /** Set by StoreScp (limits.firstPduTimeoutSeconds): the association request must be complete within it. */
  firstPduTimeout?: number;
  /** Set by StoreScp (limits.maxMessageDatasetKb): the budget of a dataset that is not a C-STORE's. */
  maxMessageDatasetBytes?: number;
  /** Set as our A-ASSOCIATE-AC goes out. */
  accepted?: boolean;
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
  _processPDataTf(pData: { getPdvs(): LibraryPdv[] }): Promise<void>;
}

/** Where the dataset of a C-STORE taken directly goes, fragment by fragment. */
export interface StoreSink {
  write(fragment: Buffer): void;
  /** The last fragment has been written. */
  end(): void;
}

/** A network (StoreScp) that takes C-STORE requests itself instead of through the library. */
interface DirectStore {
  receiveStore(contextId: number, command: CommandElements): StoreSink;
}

/** Writes a dataset-less DIMSE message (a response): one PDU, one PDV, command, last fragment. */
export function sendCommand(network: { socket: import('node:net').Socket }, contextId: number, commandSet: Buffer): void {
  (network as unknown as NetworkInternals).statistics.addBytesSent(12 + commandSet.length);
  network.socket.write(Buffer.concat([pDataHeader(contextId, commandSet.length, true, true), commandSet]));
}

/** A PDV as the library's _processPDataTf reads it. */
interface LibraryPdv {
  getPresentationContextId(): number;
  isCommand(): boolean;
  isLastFragment(): boolean;
  getValue(): Buffer;
}

function libraryPdv(fragment: PdvFragment): LibraryPdv {
  return { getPresentationContextId: () => fragment.contextId, isCommand: () => fragment.command, isLastFragment: () => fragment.last, getValue: () => fragment.value };
}

/** A DIMSE message as the library's _sendPDataTF gets it. */
interface LibraryMessage {
  getDataset(): unknown;
  getCommandDataset(): { getElements(): Record<string, unknown> };
}

/** The methods of the library's Network class we replace. */
interface NetworkPrototype {
  _wrapSocket(this: NetworkInternals): void;
  _processPdu: unknown;
  sendAssociationAccept(this: NetworkInternals): unknown;
  _sendPDataTF(this: NetworkInternals, message: LibraryMessage, presentationContextId: number, maxPduLength: number): unknown;
}

let installed = false;

/** How long our side keeps reading (and dropping) after an A-ABORT, for the peer to read it and close. */
const ABORT_LINGER_MS = 5000;

/**
 * Installs our PDU path into dcmjs-dimse and quiets its logger. The library logs every association and DIMSE message
 * at info level, with dataset contents at debug: our logs say what matters, without patient data, so it reports
 * only errors. Idempotent; throws when the library lacks the internals overridden (review before upgrading it).
 */
export function installDimseOverrides(): void {
  if (installed) return;
  const proto = Object.getPrototypeOf(dimse.Scp.prototype) as NetworkPrototype;
  if (typeof proto._wrapSocket !== 'function' || typeof proto._sendPDataTF !== 'function' || typeof proto._processPdu !== 'function' || typeof proto.sendAssociationAccept !== 'function') {
    throw new Error(`dcmjs-dimse ${dimse.version} does not have the internals agent/receive/pdu-path.ts overrides; review it before upgrading`);
  }
  dimse.log.setLevel('error');
  proto._wrapSocket = wrapSocket;
  const originalSendAssociationAccept = proto.sendAssociationAccept;
  proto.sendAssociationAccept = function sendAssociationAccept(this: NetworkInternals) {
    // Aborted while the accept waited (a PDU out of turn): the association is over.
    if (this.socket.writableEnded) return;
    this.accepted = true;
    this.association!.setMaxPduLength(Implementation.getMaxPduLength());
    return originalSendAssociationAccept.call(this);
  };
  const originalSendPDataTF = proto._sendPDataTF;
  proto._sendPDataTF = function sendPDataTF(this: NetworkInternals, message: LibraryMessage, presentationContextId: number, maxPduLength: number) {
    const commandSet = message.getDataset() ? undefined : encodeCommandSet(message.getCommandDataset().getElements());
    if (!commandSet) return originalSendPDataTF.call(this, message, presentationContextId, maxPduLength);
    sendCommand(this, presentationContextId, commandSet);
  };
  installed = true;
}

function wrapSocket(this: NetworkInternals): void {
  const socket = this.socket;
  const isScp = this instanceof dimse.Scp;
  const reader = new PduReader();
  const pData = new PDataSplitter();
  // Made at the first fragment: subclasses set their limits after the library's constructor has called us.
  let budget: MessageBudget | undefined;
  let partialSince: number | undefined;
  let failed = false;
  let releaseRequested = false;
  const direct = typeof (this as Partial<DirectStore>).receiveStore === 'function' ? (this as unknown as DirectStore) : undefined;
  /** The C-STORE taken directly whose dataset is arriving. */
  let store: StoreSink | undefined;
  const toLibrary = (fragment: PdvFragment) => {
    const pdv = libraryPdv(fragment);
    void this._processPDataTf({ getPdvs: () => [pdv] });
  };
  // On a direct receiver a command set is handed on whole once complete (the budget holds its fragments until
  // then): a C-STORE with a dataset opens a store, anything else goes to the library.
  const route = (fragment: PdvFragment, completed: MessageBudget['completed']) => {
    if (store) {
      store.write(fragment.value);
      if (fragment.last) {
        store.end();
        store = undefined;
      }
    } else if (completed?.storeDataset) {
      store = direct!.receiveStore(fragment.contextId, completed.elements);
    } else if (completed) {
      toLibrary({ contextId: fragment.contextId, command: true, last: true, value: completed.commandSet });
    } else if (!fragment.command) {
      toLibrary(fragment);
    }
  };
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

  const fail = (kind: DicomErrorKind, message: string, reason: number) => {
    if (failed) return;
    failed = true;
    // Written here rather than through the library's sendAbort, which depends on its association object being set:
    // a protocol fault is always answered with A-ABORT (PS3.8 AA-1), a timeout once there is an association.
    if (kind === 'protocol' || this.association) socket.write(encodeAbort(AbortSource.ServiceProvider, reason));
    this._reset();
    // Ended, not destroyed (see ABORT_LINGER_MS): the data listener goes on reading and dropping.
    socket.end();
    setTimeout(() => socket.destroy(), ABORT_LINGER_MS).unref();
    this.emit('networkError', new DicomError(kind, message));
  };

  socket.on('data', (chunk: Buffer) => {
    // Once we have rejected, aborted or ended our side, nothing more the peer sends is read (PS3.8: after
    // A-ASSOCIATE-RJ or A-ABORT only the transport close is awaited), not even the rest of this chunk.
    if (failed || socket.writableEnded) return;
    this.statistics.addBytesReceived(chunk.length);
    reader.push(chunk);
    for (;;) {
      if (socket.writableEnded) return;
      if (pData.inPdu) {
        let fragment: PdvFragment | undefined;
        try {
          fragment = pData.next(reader);
        } catch (err) {
          return fail('protocol', errorMessage(err), AbortReason.InvalidPduParameter);
        }
        if (fragment) {
          budget ??= new MessageBudget(this.maxMessageDatasetBytes ?? DEFAULT_MAX_MESSAGE_DATASET_BYTES);
          const overBudget = budget.add(fragment);
          if (overBudget) return fail('protocol', overBudget, AbortReason.NotSpecified);
          if (!direct) toLibrary(fragment);
          else {
            // As in the library's own handler: a fault ends the association, never the agent.
            try {
              route(fragment, budget.completed);
            } catch (err) {
              return fail('protocol', `cannot take the C-STORE: ${errorMessage(err)}`, AbortReason.NotSpecified);
            }
          }
        } else if (pData.inPdu) break;
        continue;
      }
      const next = reader.header();
      if (!next) break;
      const { type, length } = next;
      if (type < 1 || type > 7) return fail('protocol', `unknown PDU type ${type}`, AbortReason.UnrecognizedPdu);
      if (isScp) {
        const unexpected = unexpectedAtScp(type, { requested: this.lastPduTime !== undefined, accepted: this.accepted === true, releaseRequested });
        if (unexpected) return fail('protocol', unexpected, AbortReason.UnexpectedPdu);
        if (type === PduType.ReleaseRequest) releaseRequested = true;
      }
      const limit = type === PduType.PData ? Math.max(Implementation.getMaxPduLength(), isScp ? 0 : (this.association?.getMaxPduLength() ?? 0)) : MAX_CONTROL_PDU_LENGTH;
      if (length > limit) return fail('protocol', `PDU of type ${type} announces ${length} bytes, over the limit of ${limit}`, AbortReason.InvalidPduParameter);
      if (type === PduType.PData && this.association) {
        reader.take(6);
        this.lastPduTime = Date.now();
        pData.start(length);
        continue;
      }
      if (reader.buffered < length + 6) break;
      this.lastPduTime = Date.now();
      void this._processPdu(reader.take(length + 6));
    }
    partialSince = reader.buffered > 0 || pData.inPdu ? (partialSince ?? Date.now()) : undefined;
  });
  socket.on('error', (err: Error) => {
    this._reset();
    this.emit('networkError', new DicomError('network', `connection error: ${err.message}`, { cause: err }));
  });
  socket.on('timeout', () => {
    this._reset();
    this.emit('networkError', new DicomError('timeout', `connection timeout: no traffic for ${this.connectTimeout} ms`));
  });
  socket.on('close', () => {
    this._reset();
    this.emit('close');
  });
  this.timeoutIntervalId = setInterval(() => {
    const now = Date.now();
    if (!this.connected) return;
    const firstPduTimeout = this.firstPduTimeout ?? this.associationTimeout;
    if (this.lastPduTime === undefined && now - (this.connectedTime ?? now) >= firstPduTimeout) {
      fail('timeout', `association timeout: no association request within ${firstPduTimeout} ms`, AbortReason.NotSpecified);
    } else if (partialSince !== undefined && now - partialSince >= this.associationTimeout) {
      fail('timeout', `PDU timeout: a PDU was not completed within ${this.associationTimeout} ms`, AbortReason.NotSpecified);
    } else if (this.lastPduTime !== undefined && now - this.lastPduTime >= this.pduTimeout) {
      fail('timeout', `idle timeout: no PDU for ${this.pduTimeout} ms`, AbortReason.NotSpecified);
    }
  }, 1000);
  this.timeoutIntervalId.unref();
}

const PDU_NAMES: Record<number, string> = { 1: 'A-ASSOCIATE-RQ', 2: 'A-ASSOCIATE-AC', 3: 'A-ASSOCIATE-RJ', 4: 'P-DATA-TF', 5: 'A-RELEASE-RQ', 6: 'A-RELEASE-RP', 7: 'A-ABORT' };

/** The PS3.8 state table as the receiver (an SCP) reads it: why a PDU of this type may not arrive now, or undefined. */
function unexpectedAtScp(type: number, state: { requested: boolean; accepted: boolean; releaseRequested: boolean }): string | undefined {
  const name = PDU_NAMES[type];
  if (!state.requested) return type === PduType.AssociateRequest ? undefined : `first PDU is ${name}, not an association request`;
  if (type === PduType.Abort) return undefined;
  if (type === PduType.AssociateRequest) return 'a second association request on the association';
  if (!state.accepted) return `${name} before the association was accepted`;
  if (type !== PduType.PData && type !== PduType.ReleaseRequest) return `${name} on an established association`;
  return state.releaseRequested ? `${name} after the release request` : undefined;
}
