// Errors of the DICOM layer carry a kind that code branches on; the message is for people and may be reworded freely.

/**
 * - network: the connection could not be made, broke or was closed
 * - tls: the TLS handshake failed (certificates, versions, not a TLS port)
 * - timeout: the peer did not answer, or stopped reading, within the time allowed
 * - aborted: the peer sent A-ABORT
 * - rejected: the peer sent A-ASSOCIATE-RJ, or refused the presentation context needed
 * - refused-by-status: a DIMSE response with a failure status
 * - protocol: the peer sent something the protocol does not allow here (or we received a malformed PDU)
 * - config: our own settings make the operation impossible (missing host, unreadable certificate file)
 */
export type DicomErrorKind = 'network' | 'tls' | 'timeout' | 'aborted' | 'rejected' | 'refused-by-status' | 'protocol' | 'config';

/** A-ASSOCIATE-RJ fields (PS3.8 9.3.4). */
export interface AssociateReject {
  result: number;
  source: number;
  reason: number;
}

export interface DicomErrorDetails {
  /** The error this one describes (a socket or TLS error, with its code). */
  cause?: unknown;
  /** For 'rejected' by A-ASSOCIATE-RJ. */
  reject?: AssociateReject;
  /** For 'rejected' presentation contexts: the PS3.8 9.3.3.2 result. */
  contextResult?: number;
  /** For 'refused-by-status': the DIMSE status. */
  status?: number;
}

export class DicomError extends Error {
  readonly reject?: AssociateReject;
  readonly contextResult?: number;
  readonly status?: number;

  constructor(
    readonly kind: DicomErrorKind,
    message: string,
    details: DicomErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'DicomError';
    this.reject = details.reject;
    this.contextResult = details.contextResult;
    this.status = details.status;
  }
}

/** True for a DicomError of one of these kinds. */
export function isDicomError(err: unknown, ...kinds: DicomErrorKind[]): err is DicomError {
  return err instanceof DicomError && (kinds.length === 0 || kinds.includes(err.kind));
}
