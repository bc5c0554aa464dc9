import type { ClaimedUpload } from './queue';

/** One claimed instance with the absolute path of its spool file, ready to send as it is. */
export interface OutgoingInstance extends ClaimedUpload {
  filePath: string;
}

/** What the cloud said of a batch: every instance of the batch is in exactly one of the lists. */
export interface BatchOutcome {
  delivered: OutgoingInstance[];
  failed: Array<{ instance: OutgoingInstance; error: string; permanent: boolean }>;
}

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
  close(): Promise<void>;
}
