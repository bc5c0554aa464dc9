// Verification (C-ECHO, PS3.4 A, PS3.7 9.1.5) as a client: one association, one echo, release.
import type net from 'node:net';
import { ClientAssociation, type AssociationOptions } from './association';
import { CommandField, DataSetType, encodeCommand } from './command';
import { DicomError } from './dicom-error';
import { statusClass, statusHex } from './status';
import { TransferSyntax, VERIFICATION_SOP_CLASS } from './uids';

export interface EchoRequest {
  calledAe: string;
  callingAe: string;
  timeoutMs: number;
}

/**
 * Sends one C-ECHO over an open socket and releases. Resolves when the peer answered Success; otherwise throws a
 * DicomError: 'rejected' (the association, or the Verification context: `reject` / `contextResult` say which),
 * 'refused-by-status' (`status`), 'protocol', or what reading the answer met ('network', 'timeout', 'aborted').
 */
export async function echo(socket: net.Socket, request: EchoRequest, options: AssociationOptions): Promise<void> {
  const association = await ClientAssociation.open(
    socket,
    {
      calledAe: request.calledAe,
      callingAe: request.callingAe,
      contexts: [{ abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [TransferSyntax.ImplicitVRLittleEndian] }],
      timeoutMs: request.timeoutMs,
    },
    options,
  );
  // A peer that does not answer the release does not fail the echo.
  const releaseMs = Math.min(request.timeoutMs, 2000);
  const context = association.context(VERIFICATION_SOP_CLASS, TransferSyntax.ImplicitVRLittleEndian)!;
  if (!context.accepted) {
    await association.release(releaseMs);
    throw new DicomError('rejected', `${options.peer} accepted the association but refused Verification (C-ECHO) (result ${context.result})`, { contextResult: context.result });
  }
  const command = encodeCommand({ AffectedSOPClassUID: VERIFICATION_SOP_CLASS, CommandField: CommandField.CEchoRq, MessageID: association.nextMessageId(), CommandDataSetType: DataSetType.Absent });
  await association.sendMessage(context.id, command, undefined, request.timeoutMs);
  const response = await association.nextResponse(CommandField.CEchoRsp, request.timeoutMs, 'the C-ECHO response');
  await association.release(releaseMs);
  if (statusClass(response.status) !== 'success') {
    const comment = response.command.ErrorComment ? ` (${response.command.ErrorComment})` : '';
    throw new DicomError('refused-by-status', `${options.peer} answered C-ECHO with status ${statusHex(response.status)}${comment}`, { status: response.status });
  }
}
