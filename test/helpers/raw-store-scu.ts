import net from 'node:net';
import { PduReader, encodeCommandSet } from '../../agent/receive/pdu-path';

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
}

/**
 * A minimal storage SCU that sends dataset bytes exactly as given (DCMTK's storescu cannot propose HTJ2K, MPEG,
 * HEVC or JPEG-LS near-lossless): associate, C-STORE each dataset over its context, release.
 */
export class RawStoreScu {
  private readonly reader = new PduReader();
  private readonly waiting: Array<(pdu: Buffer) => void> = [];
  private messageId = 0;
  private maxPdu = 16384;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      for (let next = this.reader.header(); next && this.reader.buffered >= next.length + 6; next = this.reader.header()) {
        const pdu = Buffer.from(this.reader.take(next.length + 6));
        this.waiting.shift()?.(pdu);
      }
    });
  }

  static async associate(port: number, calledAe: string, contexts: ProposedContext[], callingAe = 'RAWSCU'): Promise<{ scu: RawStoreScu; contexts: NegotiatedContext[] }> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    socket.setNoDelay(true);
    const scu = new RawStoreScu(socket);
    const reply = scu.nextPdu();
    socket.write(associateRequest(calledAe, callingAe, contexts));
    const pdu = await reply;
    if (pdu[0] !== 0x02) throw new Error(`association not accepted: PDU type ${pdu[0]} (result ${pdu[7]}, source ${pdu[8]}, reason ${pdu[9]})`);
    const negotiated: NegotiatedContext[] = [];
    let pos = 74;
    while (pos < pdu.length) {
      const type = pdu[pos];
      const length = pdu.readUInt16BE(pos + 2);
      if (type === 0x21) {
        const id = pdu[pos + 4];
        const result = pdu[pos + 6];
        const tsLength = pdu.readUInt16BE(pos + 10);
        const transferSyntax = pdu.toString('latin1', pos + 12, pos + 12 + tsLength).replace(/\0+$/, '');
        negotiated.push({ id, abstractSyntax: contexts[(id - 1) / 2].abstractSyntax, transferSyntax: result === 0 ? transferSyntax : undefined });
      } else if (type === 0x50) {
        for (let sub = pos + 4; sub < pos + 4 + length; sub += 4 + pdu.readUInt16BE(sub + 2)) {
          if (pdu[sub] === 0x51) scu.maxPdu = pdu.readUInt32BE(sub + 4) || 16384;
        }
      }
      pos += 4 + length;
    }
    return { scu, contexts: negotiated };
  }

  /** Sends one C-STORE with the dataset bytes as they are; resolves to the response status. */
  async store(context: NegotiatedContext, sopClassUid: string, sopInstanceUid: string, dataset: Buffer): Promise<number> {
    const command = encodeCommandSet({
      AffectedSOPClassUID: sopClassUid,
      CommandField: 0x0001,
      MessageID: ++this.messageId,
      Priority: 0,
      CommandDataSetType: 0x0000,
      AffectedSOPInstanceUID: sopInstanceUid,
    })!;
    const response = this.nextPdu();
    this.socket.write(pDataPdu(context.id, command, true, true));
    const room = this.maxPdu - 6 - 6;
    for (let offset = 0; offset < dataset.length; offset += room) {
      const fragment = dataset.subarray(offset, offset + room);
      this.socket.write(pDataPdu(context.id, fragment, false, offset + room >= dataset.length));
    }
    const pdu = await response;
    if (pdu[0] !== 0x04) throw new Error(`expected a C-STORE-RSP, got PDU type ${pdu[0]}`);
    return statusOf(pdu.subarray(12));
  }

  async release(): Promise<void> {
    const reply = this.nextPdu();
    this.socket.write(Buffer.from([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0]));
    await reply;
    this.socket.destroy();
  }

  private nextPdu(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.waiting.push(resolve);
      this.socket.once('close', () => reject(new Error('connection closed')));
    });
  }
}

function pDataPdu(contextId: number, value: Buffer, command: boolean, last: boolean): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x04;
  header.writeUInt32BE(6 + value.length, 2);
  header.writeUInt32BE(2 + value.length, 6);
  header[10] = contextId;
  header[11] = (command ? 0x01 : 0x00) | (last ? 0x02 : 0x00);
  return Buffer.concat([header, value]);
}

/** The Status (0000,0900) of a command set in implicit VR little endian. */
function statusOf(commandSet: Buffer): number {
  for (let pos = 0; pos + 8 <= commandSet.length; ) {
    const element = commandSet.readUInt16LE(pos + 2);
    const length = commandSet.readUInt32LE(pos + 4);
    if (element === 0x0900) return commandSet.readUInt16LE(pos + 8);
    pos += 8 + length;
  }
  throw new Error('response without a status');
}

/** An A-ASSOCIATE-RQ PDU (PS3.8 9.3.2) proposing these contexts, with ids 1, 3, 5... */
export function associateRequest(calledAe: string, callingAe: string, contexts: ProposedContext[], maxPduLength = 65536): Buffer {
  const ae = (title: string) => Buffer.from(title.padEnd(16, ' '), 'latin1');
  const item = (type: number, body: Buffer) => {
    const header = Buffer.alloc(4);
    header[0] = type;
    header.writeUInt16BE(body.length, 2);
    return Buffer.concat([header, body]);
  };
  const uid = (type: number, value: string) => item(type, Buffer.from(value, 'latin1'));
  const maxLength = Buffer.alloc(4);
  maxLength.writeUInt32BE(maxPduLength);
  const variable = Buffer.concat([
    uid(0x10, '1.2.840.10008.3.1.1.1'),
    ...contexts.map((context, i) =>
      item(0x20, Buffer.concat([Buffer.from([1 + 2 * i, 0, 0, 0]), uid(0x30, context.abstractSyntax), ...context.transferSyntaxes.map((ts) => uid(0x40, ts))])),
    ),
    item(0x50, Buffer.concat([item(0x51, maxLength), uid(0x52, '1.2.3.4.5')])),
  ]);
  const fixed = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00]), ae(calledAe), ae(callingAe), Buffer.alloc(32)]);
  const header = Buffer.alloc(6);
  header[0] = 0x01;
  header.writeUInt32BE(fixed.length + variable.length, 2);
  return Buffer.concat([header, fixed, variable]);
}
