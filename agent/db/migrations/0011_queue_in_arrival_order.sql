-- The rows of acknowledged instances are written many to one statement (agent/receive/instance-recorder.ts), in the
-- order they were acknowledged: now() is the same for all of them, so the upload and compression queues would fall
-- back to ordering by SOP Instance UID. clock_timestamp() keeps each instance's own moment: first kept, first sent.
ALTER TABLE uploads ALTER COLUMN queued_at SET DEFAULT clock_timestamp();
ALTER TABLE compressions ALTER COLUMN queued_at SET DEFAULT clock_timestamp();

CREATE OR REPLACE FUNCTION queue_upload() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO uploads (sop_instance_uid, study_uid, dataset_sha256)
  VALUES (NEW.sop_instance_uid, NEW.study_uid, NEW.dataset_sha256)
  ON CONFLICT (sop_instance_uid) DO UPDATE
    SET study_uid = EXCLUDED.study_uid, dataset_sha256 = EXCLUDED.dataset_sha256, state = 'queued', attempts = 0,
        next_attempt_at = now(), lease_owner = NULL, lease_expires_at = NULL, last_error = NULL,
        queued_at = clock_timestamp(), delivered_at = NULL
    WHERE uploads.dataset_sha256 <> EXCLUDED.dataset_sha256;
  RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION queue_compression() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO compressions (sop_instance_uid, dataset_sha256)
  VALUES (NEW.sop_instance_uid, NEW.dataset_sha256)
  ON CONFLICT (sop_instance_uid) DO UPDATE
    SET dataset_sha256 = EXCLUDED.dataset_sha256, state = 'pending', rule = NULL, reason = NULL,
        queued_at = clock_timestamp(), decided_at = NULL
    WHERE compressions.dataset_sha256 <> EXCLUDED.dataset_sha256;
  RETURN NEW;
END;
$$;
