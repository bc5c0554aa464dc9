-- Upload stage: the queue of instances to deliver to the cloud PACS. An instance is queued as soon as it is
-- kept (upload does not wait for the study to be complete); a correction queues the new bytes again.

CREATE TABLE uploads (
  sop_instance_uid  text        PRIMARY KEY REFERENCES instances (sop_instance_uid),
  study_uid         text        NOT NULL REFERENCES studies (study_uid),
  -- queued | sending | done | failed (permanent error: shown, never dropped; `gateway retry` queues it again)
  state             text        NOT NULL DEFAULT 'queued',
  -- the version to deliver: a correction changes it and queues the instance again
  dataset_sha256    bytea       NOT NULL,
  attempts          integer     NOT NULL DEFAULT 0,
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  -- a claim: which agent/worker holds it, until when (an expired lease is claimed again)
  lease_owner       text,
  lease_expires_at  timestamptz,
  last_error        text,
  queued_at         timestamptz NOT NULL DEFAULT now(),
  delivered_at      timestamptz
);
CREATE INDEX uploads_pending_idx ON uploads (next_attempt_at) WHERE state IN ('queued', 'sending');
CREATE INDEX uploads_study_idx ON uploads (study_uid);

CREATE FUNCTION queue_upload() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO uploads (sop_instance_uid, study_uid, dataset_sha256)
  VALUES (NEW.sop_instance_uid, NEW.study_uid, NEW.dataset_sha256)
  ON CONFLICT (sop_instance_uid) DO UPDATE
    SET study_uid = EXCLUDED.study_uid, dataset_sha256 = EXCLUDED.dataset_sha256, state = 'queued', attempts = 0,
        next_attempt_at = now(), lease_owner = NULL, lease_expires_at = NULL, last_error = NULL,
        queued_at = now(), delivered_at = NULL
    WHERE uploads.dataset_sha256 <> EXCLUDED.dataset_sha256;
  RETURN NEW;
END;
$$;

CREATE TRIGGER instances_queue_upload
  AFTER INSERT OR UPDATE OF dataset_sha256 ON instances
  FOR EACH ROW EXECUTE FUNCTION queue_upload();

-- Instances kept before this migration are queued too.
INSERT INTO uploads (sop_instance_uid, study_uid, dataset_sha256)
SELECT sop_instance_uid, study_uid, dataset_sha256 FROM instances
ON CONFLICT DO NOTHING;
