import fs from 'node:fs';
import type { SopReference } from './commitment-dataset';
import type { ClaimedUpload } from './queue';

/** One claimed instance with the absolute path of its spool file, ready to send as it is. */
export interface OutgoingInstance extends ClaimedUpload {
  filePath: string;
  /** When filePath is a compressed copy: the instance as received, for a cloud that refuses the compressed transfer syntax. */
  asReceived?: OutgoingInstance;
}

/** What the cloud said of a batch: every instance of the batch is in exactly one of the lists. */
export interface BatchOutcome {
  delivered: OutgoingInstance[];
  failed: Array<{ instance: OutgoingInstance; error: string; permanent: boolean; /** The cloud does not take this transfer syntax. */ transferSyntaxRefused?: boolean }>;
  /** The cloud commits what it stores (Storage Commitment accepted): `delivered` waits for requestCommitment's report. */
  commitmentAvailable?: boolean;
  /**
   * Set when the cloud as a whole could not be reached (no connection, TLS refused, no answer, association not
   * opened, HTTP 408/429/5xx): the failures say nothing about the instances, which wait for the cloud's return
   * instead of going on a backoff of their own.
   */
  unreachable?: string;
  /**
   * Set with `unreachable` when the cloud signalled it has no room for this connection (the TLS handshake or the
   * A-ASSOCIATE-AC did not come, A-ASSOCIATE-RJ transient for congestion or a local limit, HTTP 429/503 with
   * Retry-After): while other connections of ours are working, or one delivered moments ago, the uploader uses fewer
   * of them instead.
   */
  noRoom?: boolean;
  /** With noRoom: how long the cloud asked to be left alone (HTTP Retry-After). */
  retryAfterMs?: number;
}

/**
 * A Storage Commitment request (N-ACTION): requested (the report comes later, to onCommitmentReport or the
 * gateway's listener), refused by the cloud (it does not commit: C-STORE success confirms), or failed on the way.
 */
export type CommitmentRequestOutcome = { requested: true } | { requested: false; refused: boolean; error: string };

/** Paces outgoing bytes (upload.maxMbps and schedule windows); transports call it before each chunk they write. */
export interface Pacer {
  take(bytes: number): Promise<void>;
}

/**
 * A way to the cloud PACS (DICOM-TLS or STOW-RS). `send` delivers a batch and never rejects: a connection that
 * cannot be made, a refusal or a timeout is reported per instance as a transient failure, with a message that
 * names the cause and the fix a support engineer would try.
 */
export interface Transport {
  send(batch: OutgoingInstance[]): Promise<BatchOutcome>;
  /**
   * Opens the connection for the next send ahead of a claim (DICOM-TLS: TCP and the TLS handshake), so a worker the
   * cloud has no room for holds no instance while it waits; never rejects. Transports without it are asked by sending.
   */
  connect?(): Promise<Pick<BatchOutcome, 'unreachable' | 'noRoom'>>;
  /** Asks the cloud to commit instances it stored (DICOM-TLS with Storage Commitment); never rejects. */
  requestCommitment?(transactionUid: string, instances: SopReference[]): Promise<CommitmentRequestOutcome>;
  /** One cheap check that the cloud takes uploads (DICOM-TLS: TLS and C-ECHO; STOW-RS: an authenticated request); rejects with the reason when not. */
  probe(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Bytes a transport may leave queued in its socket before it waits for 'drain'. The socket's own mark is 16 KiB:
 * waiting each time it is reached leaves the link idle between writes, while a deeper queue keeps the kernel fed.
 */
export const SOCKET_IN_FLIGHT_BYTES = 4 * 1024 * 1024;

/** Spool files up to this size are read whole, ahead of their turn; larger ones are read in steps when sent. */
const READ_AHEAD_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Starts reading the file of an instance that is sent next, while the current one is on its way (transports send
 * one after the other). Undefined for a large file; a read error waits for the instance's turn to be reported.
 */
export function readAhead(instance: OutgoingInstance | undefined): Promise<Buffer> | undefined {
  if (!instance || instance.fileBytes > READ_AHEAD_MAX_BYTES) return undefined;
  const reading = fs.promises.readFile(instance.filePath);
  reading.catch(() => undefined);
  return reading;
}
