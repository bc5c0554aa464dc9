import type { ApiStatus, OverallState } from './types';

const STATE_VALUE: Record<OverallState, number> = { green: 0, amber: 1, red: 2 };

/**
 * GET /metrics in the Prometheus text exposition format 0.0.4. Only counts, sizes, times and states: no UID, no
 * patient value, so no label can identify anyone.
 */
export function formatMetrics(status: ApiStatus): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, value: number | null | undefined, labels = '') => {
    if (value === null || value === undefined) return;
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}${labels} ${value}`);
  };
  const seconds = (iso: string | null) => (iso ? Date.parse(iso) / 1000 : undefined);
  const flag = (value: boolean) => (value ? 1 : 0);

  metric('gateway_info', 'gauge', 'The agent version (always 1).', 1, `{version="${status.version.replace(/["\\\n]/g, '_')}"}`);
  metric('gateway_state', 'gauge', 'Overall state: 0 green, 1 amber, 2 red.', STATE_VALUE[status.state]);
  metric('gateway_receiver_listening', 'gauge', '1 while the DICOM receiver listens.', flag(status.receiver.listening));
  metric('gateway_active_associations', 'gauge', 'DICOM associations open now.', status.receiver.activeAssociations);
  metric('gateway_database_up', 'gauge', '1 while the database answers.', flag(status.database.ok));
  metric(
    'gateway_upstream_reachable',
    'gauge',
    '1 when the cloud answered the last uploads, 0 when it did not (absent before any upload).',
    status.upstream.reachable === null ? null : flag(status.upstream.reachable),
  );
  metric('gateway_uploads_paused', 'gauge', '1 while uploads are paused.', flag(status.paused));
  metric('gateway_queue_studies', 'gauge', 'Studies with instances waiting for upload.', status.queue.studies);
  metric('gateway_queue_instances', 'gauge', 'Instances queued or being sent.', status.queue.instances);
  metric('gateway_queue_bytes', 'gauge', 'Bytes of the instances queued or being sent.', status.queue.bytes);
  metric('gateway_uploads_failed', 'gauge', 'Instances the cloud refused, kept until retried.', status.queue.failed);
  metric('gateway_instances_received_total', 'counter', 'Instances received (counted when their association ends).', status.spool?.instancesReceivedTotal);
  metric('gateway_instances_uploaded_total', 'counter', 'Instances the cloud confirmed.', status.uploads?.delivered);
  metric('gateway_uploaded_bytes_total', 'counter', 'Bytes of the instances the cloud confirmed.', status.uploads?.bytesDelivered);
  metric('gateway_upload_mbps', 'gauge', 'Payload megabits per second delivered over the last minute.', status.uploadMbps);
  metric('gateway_free_disk_bytes', 'gauge', 'Free bytes on the data folder volume.', status.freeDiskBytes);
  metric('gateway_last_received_timestamp_seconds', 'gauge', 'When the last instance was received (Unix time).', seconds(status.lastReceivedAt));
  metric('gateway_last_uploaded_timestamp_seconds', 'gauge', 'When the cloud last confirmed an instance (Unix time).', seconds(status.lastUploadedAt));
  metric('gateway_compression_pending', 'gauge', 'Instances waiting for their compression decision (their upload waits for it).', status.compression?.pending);
  metric('gateway_compressed_instances', 'gauge', 'Instances kept whose upload is a verified compressed copy.', status.compression?.compressed);
  metric('gateway_compression_ratio', 'gauge', 'Received bytes / compressed bytes of the compressed instances.', status.compression?.ratio);
  const hl7 = status.hl7;
  if (hl7) {
    metric('gateway_hl7_listening', 'gauge', '1 while the HL7 MLLP listener listens.', flag(hl7.listening));
    metric('gateway_hl7_messages_received_total', 'counter', 'HL7 messages from the RIS/EMR kept (acknowledged AA).', hl7.messages?.received);
    metric('gateway_hl7_messages_delivered_total', 'counter', 'HL7 messages the cloud accepted.', hl7.messages?.delivered);
    metric('gateway_hl7_messages_queued', 'gauge', 'HL7 messages waiting for the cloud.', hl7.messages?.queued);
    metric('gateway_hl7_messages_failed', 'gauge', 'HL7 messages the cloud refused, kept until retried.', hl7.messages?.failed);
    metric('gateway_hl7_reports_delivered_total', 'counter', 'Reports from the cloud the EMR acknowledged.', hl7.reports?.delivered);
    metric('gateway_hl7_reports_queued', 'gauge', 'Reports waiting for the EMR (or for the cloud to hear of their ACK).', hl7.reports?.queued);
    metric('gateway_hl7_reports_failed', 'gauge', 'Reports the EMR refused (AE/AR), kept until retried.', hl7.reports?.failed);
  }
  return `${lines.join('\n')}\n`;
}
