import fs from 'node:fs';
import { Writable } from 'node:stream';
import type net from 'node:net';
import type tls from 'node:tls';
import { Scp, constants, responses } from 'dcmjs-dimse';
import type { association as associationTypes, requests } from 'dcmjs-dimse';
import { isCalledAeAccepted, normalizeReceivedAeTitle } from '../config/ae-title';
import { SpoolWriter, discardTempFile, openTempFile, placeSpooledFile, type TempFile } from '../spool/spool-writer';
import { spoolRelativePath } from '../spool/spool-path';
import { noteReceiving } from '../spool/receive-activity';
import { chooseTransferSyntax } from '../spool/transfer-syntax';
import type { DatasetHeader } from '../spool/dataset-header';
import { CommandField, DataSetType, encodeCommand, type CommandElements } from '../dicom/command';
import { isDicomError } from '../dicom/dicom-error';
import { Status } from '../dicom/status';
import { STORAGE_COMMITMENT_PUSH_MODEL, TransferSyntax, VERIFICATION_SOP_CLASS } from '../dicom/uids';
import { errorMessage } from '../errors';
import { isStorageAbstractSyntax } from './abstract-syntax';
import { sendCommand, type StoreSink } from './pdu-path';
import type { ReceiveContext } from './receive-context';

const { PresentationContextResult, RejectResult, RejectSource, RejectReason } = constants;

const REJECT_LINGER_MS = 2000;

type AssociationOutcome = 'released' | 'aborted' | 'timed-out' | 'closed' | 'rejected' | 'error';

/** One C-STORE on its way to disk: the writer, or why it was refused before a byte was kept. */
interface StoreInProgress {
  writer?: SpoolWriter;
  transferSyntaxUid?: string;
  refused?: { status: number; reason: string };
  error?: Error;
}

/**
 * One association from a modality or PACS. Accepts C-ECHO and C-STORE; streams each instance to the spool
 * through SpoolWriter and answers Success only once the file is fsynced and durable under its name; its rows are
 * written after the answer, by the InstanceRecorder (see README, "What the gateway promises").
 */
export class StoreScp extends Scp {
  // `declare`, not class fields: a field initialiser would run after super() and clobber the library's state.
  declare association: associationTypes.Association | undefined;
  declare socket: net.Socket;
  declare private context: ReceiveContext;
  /** The writer of the instance arriving now, until its last fragment; destroyed if the association dies first. */
  declare private receiving: SpoolWriter | undefined;
  /** The next instance's temp file, opened while the current one arrives. */
  declare private spareFile: Promise<TempFile> | undefined;
  /** The peer's address as a support engineer would write it (read once: a closed socket forgets it). */
  declare private peerAddress: string;
  /** Read by pdu-path's timer: the association request must be complete within it. */
  declare firstPduTimeout: number;
  declare maxMessageDatasetBytes: number;
  declare private stats: {
    associationId?: number;
    callingAe: string;
    calledAe: string;
    instances: number;
    bytes: number;
    failures: number;
    started: number;
    outcome?: AssociationOutcome;
    reason?: string;
    pending: Set<Promise<unknown>>;
  };

  constructor(socket: net.Socket, context: ReceiveContext) {
    super(socket, {
      associationTimeout: context.config.limits.pduTimeoutSeconds * 1000,
      pduTimeout: context.config.limits.idleTimeoutSeconds * 1000,
      connectTimeout: context.config.limits.idleTimeoutSeconds * 1000,
    });
    this.context = context;
    this.firstPduTimeout = context.config.limits.firstPduTimeoutSeconds * 1000;
    this.maxMessageDatasetBytes = context.config.limits.maxMessageDatasetKb * 1024;
    this.peerAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.stats = { callingAe: '', calledAe: '', instances: 0, bytes: 0, failures: 0, started: Date.now(), pending: new Set() };
    this.on('networkError', (err: Error) => {
      this.stats.outcome ??= isDicomError(err, 'timeout') ? 'timed-out' : 'error';
      this.stats.reason ??= err.message;
      // After our A-ABORT the PDU path has ended our side and lingers for the peer to read it (pdu-path.ts).
      if (!socket.writableEnded) socket.destroy();
    });
    this.on('close', () => {
      this.receiving?.destroy();
      void this.discardSpareFile();
      void this.finishAssociation();
    });
  }

  override associationRequested(association: associationTypes.Association): void {
    this.association = association;
    const calledAe = normalizeReceivedAeTitle(association.getCalledAeTitle());
    const callingAe = normalizeReceivedAeTitle(association.getCallingAeTitle());
    Object.assign(this.stats, { calledAe, callingAe });
    const { config } = this.context;

    if (!isCalledAeAccepted(calledAe, config.aeTitle)) {
      return this.reject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeNotRecognized, `called AE title "${calledAe}" is not this gateway's (AE titles are case-sensitive)`);
    }
    if (config.allowedCallingAeTitles.length > 0 && !config.allowedCallingAeTitles.includes(callingAe)) {
      return this.reject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeNotRecognized, `calling AE title "${callingAe}" is not on the allow-list`);
    }
    const certificateProblem = this.certificateAeProblem(callingAe);
    if (certificateProblem) return this.reject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeNotRecognized, certificateProblem);
    if (!this.context.claimAssociationSlot(this)) {
      return this.reject(
        RejectResult.Transient,
        RejectSource.ServiceProviderPresentation,
        RejectReason.LocalLimitExceeded,
        `${config.limits.maxAssociations} associations already open (limits.maxAssociations)`,
      );
    }

    // The library keeps one request in flight: pipelined C-STOREs would corrupt its state.
    association.setNegotiateAsyncOps(false);
    for (const context of association.getPresentationContexts()) {
      const pc = association.getPresentationContext(context.id);
      const abstractSyntax = pc.getAbstractSyntaxUid();
      const proposed = pc.getTransferSyntaxUids();
      // Storage Commitment reports from the cloud: the peer takes the SCP role (its role selection item is echoed).
      if (abstractSyntax === VERIFICATION_SOP_CLASS || (abstractSyntax === STORAGE_COMMITMENT_PUSH_MODEL && this.acceptsCommitmentReports(callingAe))) {
        const ts = [TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.ImplicitVRLittleEndian].find((t) => proposed.includes(t));
        if (ts) pc.setResult(PresentationContextResult.Accept, ts);
        else pc.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
      } else if (!isStorageAbstractSyntax(abstractSyntax)) {
        pc.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
      } else {
        const ts = chooseTransferSyntax(proposed);
        if (ts) pc.setResult(PresentationContextResult.Accept, ts);
        else pc.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
      }
    }
    this.track(
      this.context.pool
        .query<{ id: string }>('INSERT INTO associations (calling_ae, called_ae, peer_address, tls) VALUES ($1, $2, $3, $4) RETURNING id', [callingAe, calledAe, this.peerAddress, this.context.tls])
        .then(({ rows }) => {
          this.stats.associationId = Number(rows[0].id);
          this.sendAssociationAccept();
        })
        .catch((err: unknown) => {
          this.reject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.TemporaryCongestion, `database unavailable: ${errorMessage(err)}`);
        }),
    );
  }

  override associationReleaseRequested(): void {
    this.stats.outcome ??= 'released';
    // Answer the release only once every C-STORE response is out and their rows are written (at once, not gathered):
    // nothing acknowledged is still in flight. The spare temp file goes too: a released association leaves nothing
    // in the incoming folder.
    this.context.recorder.flush();
    void Promise.allSettled([...this.stats.pending, this.discardSpareFile()]).then(() => this.sendAssociationReleaseResponse());
  }

  private async discardSpareFile(): Promise<void> {
    const spare = this.spareFile;
    this.spareFile = undefined;
    const temp = await spare?.catch(() => undefined);
    if (temp) await discardTempFile(temp);
  }

  override abort(): void {
    this.stats.outcome ??= 'aborted';
    this.stats.reason ??= 'the peer sent A-ABORT';
    this.socket.destroy();
  }

  /**
   * Storage Commitment reports are taken only from the cloud we upload to (its AE title, upstream.calledAeTitle), and
   * only on the DICOM-TLS listener when there is one (unless tls.commitmentReportsOnPlainPort): from anyone else
   * the SOP class is not accepted, so a forged report cannot mark instances committed.
   */
  private acceptsCommitmentReports(callingAe: string): boolean {
    const { config, tls, onCommitmentReport } = this.context;
    if (!onCommitmentReport || config.upstream?.kind !== 'dicom-tls' || callingAe !== config.upstream.calledAeTitle) return false;
    return tls || config.tls === undefined || config.tls.commitmentReportsOnPlainPort;
  }

  override cEchoRequest(request: requests.CEchoRequest, callback: (response: responses.CEchoResponse) => void): void {
    const response = responses.CEchoResponse.fromRequest(request);
    response.setStatus(Status.Success);
    callback(response);
  }

  override nEventReportRequest(request: requests.NEventReportRequest, callback: (response: responses.NEventReportResponse) => void): void {
    const response = responses.NEventReportResponse.fromRequest(request);
    const elements = request.getDataset()?.getElements() as Record<string, unknown> | undefined;
    const record = this.acceptsCommitmentReports(this.stats.callingAe) ? this.context.onCommitmentReport : undefined;
    if (request.getAffectedSopClassUid() !== STORAGE_COMMITMENT_PUSH_MODEL || !elements || !record) {
      response.setStatus(Status.NoSuchSopClass);
      callback(response);
      return;
    }
    this.track(
      record(elements, this.stats.callingAe)
        .then(
          () => response.setStatus(Status.Success),
          (err: unknown) => {
            // Processing failure: the cloud keeps the report and sends it again.
            this.context.log.warn('cannot record a storage commitment report', { callingAe: this.stats.callingAe, error: errorMessage(err) });
            response.setStatus(Status.ProcessingFailure);
          },
        )
        .then(() => callback(response)),
    );
  }

  /**
   * A C-STORE request with a dataset, handed over by the PDU path (pdu-path.ts) as its command set completes: the
   * dataset's fragments go to the spool as they arrive; the answer follows once the instance is durable or refused.
   */
  receiveStore(contextId: number, command: CommandElements): StoreSink {
    const store = this.openStore(contextId, command);
    const { writer } = store;
    const resume = () => this.socket.resume();
    return {
      write: (fragment) => {
        // A slow disk holds back the sender instead of filling memory.
        if (writer && !writer.write(fragment) && !writer.destroyed && !this.socket.isPaused()) {
          this.socket.pause();
          writer.once('drain', resume);
          writer.once('close', resume);
        }
      },
      end: () => {
        this.receiving = undefined;
        writer?.end();
        this.track(this.keep(command, store).then((outcome) => this.answerStore(contextId, command, outcome)));
      },
    };
  }

  private openStore(contextId: number, command: CommandElements): StoreInProgress {
    const pc = this.association?.getPresentationContexts().find((context) => context.id === contextId)?.context;
    if (pc?.getResult() !== PresentationContextResult.Accept) {
      return { refused: { status: Status.CannotUnderstand, reason: `sent on presentation context ${contextId}, which was not accepted` } };
    }
    if (this.context.diskIsLow()) return { refused: { status: Status.OutOfResources, reason: 'disk nearly full' } };
    const store: StoreInProgress = { transferSyntaxUid: pc.getAcceptedTransferSyntaxUid() };
    const fields = {
      sopClassUid: command.AffectedSOPClassUID ?? '',
      sopInstanceUid: command.AffectedSOPInstanceUID ?? '',
      transferSyntaxUid: store.transferSyntaxUid!,
      sourceAeTitle: this.stats.callingAe,
    };
    const writer = new SpoolWriter(this.context.spoolDir, fields, this.spareFile);
    this.spareFile = openTempFile(this.context.spoolDir);
    this.spareFile.catch(() => undefined);
    // Without a listener a disk error would crash the agent.
    writer.on('error', (err) => {
      store.error ??= err;
    });
    store.writer = writer;
    this.receiving = writer;
    return store;
  }

  private answerStore(contextId: number, command: CommandElements, { status, reason }: { status: number; reason: string }): void {
    if (status !== Status.Success) {
      this.stats.failures++;
      this.context.log.warn('C-STORE refused', {
        callingAe: this.stats.callingAe,
        peer: this.peerAddress,
        sopInstanceUid: command.AffectedSOPInstanceUID,
        status: `0x${status.toString(16).toUpperCase()}`,
        reason,
      });
    }
    if (this.socket.destroyed || this.socket.writableEnded) return;
    sendCommand(
      this,
      contextId,
      encodeCommand({
        AffectedSOPClassUID: command.AffectedSOPClassUID,
        CommandField: CommandField.CStoreRsp,
        MessageIDBeingRespondedTo: command.MessageID,
        CommandDataSetType: DataSetType.Absent,
        Status: status,
        ErrorComment: status === Status.Success ? undefined : reason.slice(0, 64),
        AffectedSOPInstanceUID: command.AffectedSOPInstanceUID,
      }),
    );
  }

  // The PDU path takes every C-STORE with a dataset; the library hands over only one that announced none.
  override cStoreRequest(request: requests.CStoreRequest, callback: (response: responses.CStoreResponse) => void): void {
    const response = responses.CStoreResponse.fromRequest(request);
    response.setStatus(Status.CannotUnderstand);
    response.setErrorComment('no dataset received');
    this.stats.failures++;
    callback(response);
  }

  /** Makes one instance durable; resolves to the status to answer. Never rejects. */
  private async keep(command: CommandElements, store: StoreInProgress): Promise<{ status: number; reason: string }> {
    const { writer } = store;
    noteReceiving();
    if (store.refused || !writer) return store.refused ?? { status: Status.CannotUnderstand, reason: 'no dataset received' };
    try {
      // The hash and header are known when the last fragment is written; the fsync may still be running.
      const finished = waitForFinish(writer);
      finished.catch(() => undefined);
      const spooled = await Promise.race([writer.spooled(), finished.then(() => writer.spooled())]);
      if (store.error) throw store.error;
      const { header } = spooled;
      const commandSopInstance = command.AffectedSOPInstanceUID;
      const refusal =
        spooled.problem || !header.sopInstanceUid || !header.studyInstanceUid || !header.seriesInstanceUid || !header.sopClassUid
          ? { status: Status.CannotUnderstand, reason: spooled.problem ?? 'dataset lacks SOP class, SOP instance, study or series UID' }
          : header.sopInstanceUid !== commandSopInstance || header.sopClassUid !== command.AffectedSOPClassUID
            ? { status: Status.DataSetDoesNotMatchSopClass, reason: 'SOP class or instance UID differs from the C-STORE command' }
            : unindexable(header);
      if (refusal) {
        await finished;
        await fs.promises.rm(spooled.tempPath, { force: true });
        return refusal;
      }
      const relative = spoolRelativePath(header.studyInstanceUid!, header.sopInstanceUid!, spooled.datasetSha256);
      await finished;
      await placeSpooledFile(this.context.spoolDir, spooled.tempPath, relative);
      // Durable under its name: from here the file is the record (startup recovery indexes a file without rows).
      // The rows follow the answer, grouped with other associations' (the release waits for them).
      this.track(
        this.context.recorder.record({
          sopInstanceUid: header.sopInstanceUid!,
          seriesUid: header.seriesInstanceUid!,
          studyUid: header.studyInstanceUid!,
          modality: header.modality,
          sopClassUid: header.sopClassUid!,
          transferSyntaxUid: store.transferSyntaxUid!,
          spoolPath: relative,
          fileBytes: spooled.fileBytes,
          datasetSha256: spooled.datasetSha256,
          callingAe: this.stats.callingAe,
          associationId: this.stats.associationId,
        }),
      );
      this.stats.instances++;
      this.stats.bytes += spooled.datasetBytes;
      return { status: Status.Success, reason: '' };
    } catch (err) {
      writer.destroy();
      return { status: Status.OutOfResources, reason: errorMessage(err) };
    }
  }

  private reject(result: number, source: number, reason: number, why: string): void {
    this.stats.outcome = 'rejected';
    this.stats.reason = why;
    this.sendAssociationReject(result, source, reason);
    // Our side ends with the reject: pdu-path reads nothing more (no message of a rejected peer is processed).
    // The peer should close after A-ASSOCIATE-RJ; one that does not is cut off (the ARTIM timer of PS3.8).
    this.socket.end();
    setTimeout(() => this.socket.destroy(), REJECT_LINGER_MS).unref();
  }

  /** tls.clientCertificateAeTitles: a presented certificate's CN names the calling AE titles it may use. */
  private certificateAeProblem(callingAe: string): string | undefined {
    const map = this.context.tls ? this.context.config.tls?.clientCertificateAeTitles : undefined;
    if (!map) return undefined;
    const certificate = (this.socket as tls.TLSSocket).getPeerCertificate();
    if (!certificate || Object.keys(certificate).length === 0) return undefined; // none presented
    const subjectCn = certificate.subject?.CN as string | string[] | undefined;
    const cn = Array.isArray(subjectCn) ? subjectCn[0] : subjectCn;
    const allowed = cn === undefined ? undefined : map[cn];
    if (!allowed) return `client certificate CN ${JSON.stringify(cn ?? '')} is not in tls.clientCertificateAeTitles`;
    if (!allowed.includes(callingAe)) return `calling AE title "${callingAe}" is not one the client certificate CN ${JSON.stringify(cn)} may use (tls.clientCertificateAeTitles)`;
    return undefined;
  }

  private track(work: Promise<unknown>): void {
    this.stats.pending.add(work);
    void work.finally(() => this.stats.pending.delete(work));
  }

  /** One log line and one row update per association, whatever way it ended. */
  private async finishAssociation(): Promise<void> {
    this.context.releaseAssociationSlot(this);
    await Promise.allSettled([...this.stats.pending]);
    const { stats } = this;
    const outcome = stats.outcome ?? 'closed';
    const line = {
      callingAe: stats.callingAe,
      calledAe: stats.calledAe,
      peer: this.peerAddress,
      tls: this.context.tls,
      instances: stats.instances,
      bytes: stats.bytes,
      failures: stats.failures,
      durationMs: Date.now() - stats.started,
      outcome,
      reason: stats.reason,
    };
    if (outcome === 'released' || (outcome === 'closed' && stats.instances > 0)) this.context.log.info('association ended', line);
    else this.context.log.warn('association ended', line);
    if (stats.associationId !== undefined) {
      await this.context.pool
        .query('UPDATE associations SET ended_at = now(), instances = $2, bytes = $3, failures = $4, outcome = $5 WHERE id = $1', [
          stats.associationId,
          stats.instances,
          stats.bytes,
          stats.failures,
          outcome,
        ])
        .catch((err: unknown) => this.context.log.warn('could not record the end of an association', { associationId: stats.associationId, error: errorMessage(err) }));
    }
  }
}

/** UIDs PostgreSQL could not index (its b-tree entries are limited to ~2.7 kB) or store (no NUL in text). */
const MAX_INDEXED_VALUE_LENGTH = 1024;

/**
 * Why the rows of an instance could not be written, or undefined. Checked before the answer: once acknowledged, an
 * instance must be certain to be indexed, now or by startup recovery. Conforming values are far shorter (UI: 64).
 */
function unindexable(header: DatasetHeader): { status: number; reason: string } | undefined {
  if (Object.values(header).some((value) => value !== undefined && (value.length > MAX_INDEXED_VALUE_LENGTH || value.includes('\0')))) {
    return { status: Status.CannotUnderstand, reason: `a UID or the modality is over ${MAX_INDEXED_VALUE_LENGTH} characters or holds a NUL` };
  }
  return undefined;
}

function waitForFinish(writer: Writable): Promise<void> {
  if (writer.writableFinished) return Promise.resolve();
  // A file that could not be opened may have closed the writer before its last fragment came: no event will follow.
  if (writer.closed) return Promise.reject(writer.errored ?? new Error('spool file closed before it was complete'));
  return new Promise((resolve, reject) => {
    writer.once('finish', resolve);
    writer.once('error', reject);
    writer.once('close', () => (writer.writableFinished ? resolve() : reject(new Error('spool file closed before it was complete'))));
  });
}
