import net from 'node:net';
import { ClientAssociation, type NegotiatedContext } from '../../agent/dicom/association';
import { CommandField, DataSetType, encodeCommand } from '../../agent/dicom/command';
import type { ProposedContext } from '../../agent/dicom/pdu';

/**
 * A minimal storage SCU that sends dataset bytes exactly as given (DCMTK's storescu cannot propose HTJ2K, MPEG,
 * HEVC or JPEG-LS near-lossless): the gateway's own association client over plain TCP, any context, even a refused one.
 */
export class RawStoreScu {
  private constructor(private readonly association: ClientAssociation) {}

  static async associate(port: number, calledAe: string, contexts: ProposedContext[], callingAe = 'RAWSCU'): Promise<{ scu: RawStoreScu; contexts: NegotiatedContext[] }> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    socket.setNoDelay(true);
    const association = await ClientAssociation.open(socket, { calledAe, callingAe, contexts, timeoutMs: 10000 }, { peer: `${calledAe} at port ${port}` });
    return { scu: new RawStoreScu(association), contexts: association.contexts };
  }

  /** Sends one C-STORE with the dataset bytes as they are; resolves to the response status. */
  async store(context: NegotiatedContext, sopClassUid: string, sopInstanceUid: string, dataset: Buffer): Promise<number> {
    const command = encodeCommand({
      AffectedSOPClassUID: sopClassUid,
      CommandField: CommandField.CStoreRq,
      MessageID: this.association.nextMessageId(),
      Priority: 0,
      CommandDataSetType: DataSetType.Present,
      AffectedSOPInstanceUID: sopInstanceUid,
    });
    await this.association.sendMessage(context.id, command, dataset, 10000);
    return (await this.association.nextResponse(CommandField.CStoreRsp, 30000, 'a C-STORE-RSP')).status;
  }

  release(): Promise<void> {
    return this.association.release(10000);
  }
}
