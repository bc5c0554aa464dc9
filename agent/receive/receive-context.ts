import type { Pool } from 'pg';
import type { GatewayConfig } from '../config/config';
import type { Logger } from '../logging';
import type { InstanceRecorder } from './instance-recorder';

/** What every association of one listener shares. */
export interface ReceiveContext {
  config: GatewayConfig;
  pool: Pool;
  spoolDir: string;
  log: Logger;
  /** Writes the rows of acknowledged instances (one for both listeners: their rows share statements). */
  recorder: InstanceRecorder;
  /** True for the DICOM-TLS listener. */
  tls: boolean;
  /** Counts an association against limits.maxAssociations; false when the limit is reached. */
  claimAssociationSlot(owner: object): boolean;
  releaseAssociationSlot(owner: object): void;
  /** True while free disk space is under limits.minFreeDiskMb. */
  diskIsLow(): boolean;
  /**
   * Records a Storage Commitment report (the dataset of an N-EVENT-REPORT-RQ, naturalized by dcmjs) a cloud PACS
   * sends on a new association; absent: Storage Commitment is not offered to callers.
   */
  onCommitmentReport?(elements: Record<string, unknown>, callingAe: string): Promise<void>;
}
