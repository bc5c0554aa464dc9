-- Concurrent receives into one study no longer queue on its study and series rows. record_instance() used to
-- update studies.last_received_at and series.last_received_at for every instance, which locked those rows until
-- the transaction committed (after the spool file's fsync): every association sending to the same study waited
-- for the others' disks. Now an existing study or series row is left alone (ON CONFLICT DO NOTHING takes no lock),
-- and its last_received_at is advanced only when it is more than a second old: at most one transaction a second
-- per study takes the row. The quiet period of study completion (whole seconds and more) is unaffected.

CREATE OR REPLACE FUNCTION record_instance(
  p_sop_instance_uid text, p_series_uid text, p_study_uid text, p_modality text, p_sop_class_uid text,
  p_transfer_syntax_uid text, p_spool_path text, p_file_bytes bigint, p_dataset_sha256 bytea,
  p_calling_ae text, p_association_id bigint,
  OUT outcome text, OUT obsolete_path text)
LANGUAGE plpgsql AS $$
DECLARE
  existing instances%ROWTYPE;
BEGIN
  INSERT INTO studies (study_uid) VALUES (p_study_uid) ON CONFLICT (study_uid) DO NOTHING;
  IF NOT FOUND THEN
    UPDATE studies SET last_received_at = now()
     WHERE study_uid = p_study_uid AND last_received_at < now() - interval '1 second';
  END IF;
  INSERT INTO series (series_uid, study_uid, modality) VALUES (p_series_uid, p_study_uid, p_modality)
    ON CONFLICT (series_uid) DO NOTHING;
  IF NOT FOUND THEN
    UPDATE series SET last_received_at = now()
     WHERE series_uid = p_series_uid AND last_received_at < now() - interval '1 second';
  END IF;

  SELECT * INTO existing FROM instances WHERE sop_instance_uid = p_sop_instance_uid FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO instances (sop_instance_uid, series_uid, study_uid, sop_class_uid, transfer_syntax_uid, spool_path,
                           file_bytes, dataset_sha256, calling_ae, association_id)
    VALUES (p_sop_instance_uid, p_series_uid, p_study_uid, p_sop_class_uid, p_transfer_syntax_uid, p_spool_path,
            p_file_bytes, p_dataset_sha256, p_calling_ae, p_association_id)
    ON CONFLICT (sop_instance_uid) DO NOTHING;
    IF FOUND THEN
      outcome := 'new';
      RETURN;
    END IF;
    -- Another association inserted it between our SELECT and INSERT: compare with theirs.
    SELECT * INTO existing FROM instances WHERE sop_instance_uid = p_sop_instance_uid FOR UPDATE;
  END IF;

  IF existing.dataset_sha256 = p_dataset_sha256 THEN
    IF existing.missing_since IS NOT NULL OR existing.spool_path <> p_spool_path THEN
      -- The sender re-supplied a copy whose file had gone missing: keep the new file.
      UPDATE instances SET spool_path = p_spool_path, missing_since = NULL WHERE sop_instance_uid = p_sop_instance_uid;
      outcome := 'restored';
      obsolete_path := CASE WHEN existing.spool_path = p_spool_path THEN NULL ELSE existing.spool_path END;
      RETURN;
    END IF;
    outcome := 'duplicate';
    RETURN;
  END IF;

  INSERT INTO instance_corrections (sop_instance_uid, previous_dataset_sha256, previous_file_bytes, association_id)
  VALUES (p_sop_instance_uid, existing.dataset_sha256, existing.file_bytes, p_association_id);
  UPDATE instances SET series_uid = p_series_uid, study_uid = p_study_uid, sop_class_uid = p_sop_class_uid,
         transfer_syntax_uid = p_transfer_syntax_uid, spool_path = p_spool_path, file_bytes = p_file_bytes,
         dataset_sha256 = p_dataset_sha256, calling_ae = p_calling_ae, association_id = p_association_id,
         received_at = now(), corrections = corrections + 1, missing_since = NULL
   WHERE sop_instance_uid = p_sop_instance_uid;
  outcome := 'corrected';
  obsolete_path := CASE WHEN existing.spool_path = p_spool_path THEN NULL ELSE existing.spool_path END;
END;
$$;
