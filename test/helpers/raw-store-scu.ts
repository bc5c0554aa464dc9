import net from 'node:net';
import { PduReader, encodeCommandSet } from '../../agent/receive/pdu-path';
import {
  A_RELEASE_RQ,
  associateRequest,
  parseAssociateAccept,
  pDataPdu,
  statusOf,
  type NegotiatedContext,
  type ProposedContext,
} from '../../agent/upload/dicom-tls-transport';

// The PDU encoding is the upload transport's (agent/upload/dicom-tls-transport.ts); re-exported for the tests.
export { associateRequest, type NegotiatedContext, type ProposedContext };

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
    const accepted = parseAssociateAccept(pdu, contexts);
    scu.maxPdu = accepted.maxPduLength || 16384;
    return { scu, contexts: accepted.contexts };
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
    this.socket.write(A_RELEASE_RQ);
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
