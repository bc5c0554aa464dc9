-- Study completion and receipts. A series, then its study, is complete after a quiet period (or a force-complete
-- limit); a complete study is done when the cloud has confirmed every instance, and gets a receipt.

ALTER TABLE series ADD COLUMN completed_at timestamptz;
ALTER TABLE studies
  ADD COLUMN completed_at       timestamptz,
  -- true when completed by studies.forceCompleteMinutes while instances were still arriving
  ADD COLUMN force_completed    boolean NOT NULL DEFAULT false,
  ADD COLUMN done_at            timestamptz,
  ADD COLUMN receipt_instances  integer,
  ADD COLUMN receipt_bytes      bigint,
  -- SHA-256 over the instances' dataset SHA-256 hashes, concatenated in SOP Instance UID order
  ADD COLUMN receipt_sha256     bytea;

-- An instance arriving for a complete (or done) study reopens it, and its series.
CREATE FUNCTION reopen_study() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE studies SET completed_at = NULL, force_completed = false, done_at = NULL,
         receipt_instances = NULL, receipt_bytes = NULL, receipt_sha256 = NULL
   WHERE study_uid = NEW.study_uid AND completed_at IS NOT NULL;
  UPDATE series SET completed_at = NULL WHERE series_uid = NEW.series_uid AND completed_at IS NOT NULL;
  RETURN NEW;
END;
$$;

CREATE TRIGGER instances_reopen_study
  AFTER INSERT OR UPDATE OF dataset_sha256 ON instances
  FOR EACH ROW EXECUTE FUNCTION reopen_study();
