-- Receive stage: what the gateway must know of each association and each kept instance.
-- Only identifiers, sizes, hashes, times and AE titles: no patient names or IDs.

CREATE TABLE associations (
  id             bigserial PRIMARY KEY,
  calling_ae     text        NOT NULL,
  called_ae      text        NOT NULL,
  peer_address   text        NOT NULL,
  tls            boolean     NOT NULL,
  started_at     timestamptz NOT NULL DEFAULT now(),
  ended_at       timestamptz,
  instances      integer     NOT NULL DEFAULT 0,
  bytes          bigint      NOT NULL DEFAULT 0,
  failures       integer     NOT NULL DEFAULT 0,
  -- released | aborted | timed-out | closed | rejected | error; null while open
  outcome        text
);

CREATE TABLE studies (
  study_uid          text        PRIMARY KEY,
  first_received_at  timestamptz NOT NULL DEFAULT now(),
  last_received_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE series (
  series_uid         text        PRIMARY KEY,
  study_uid          text        NOT NULL REFERENCES studies (study_uid),
  modality           text,
  first_received_at  timestamptz NOT NULL DEFAULT now(),
  last_received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX series_study_idx ON series (study_uid);

CREATE TABLE instances (
  sop_instance_uid     text        PRIMARY KEY,
  series_uid           text        NOT NULL REFERENCES series (series_uid),
  study_uid            text        NOT NULL REFERENCES studies (study_uid),
  sop_class_uid        text        NOT NULL,
  transfer_syntax_uid  text        NOT NULL,
  -- relative to <dataDir>/spool, '/'-separated
  spool_path           text        NOT NULL UNIQUE,
  file_bytes           bigint      NOT NULL,
  -- SHA-256 of the dataset bytes as the sender sent them (the file meta header is ours, not theirs)
  dataset_sha256       bytea       NOT NULL,
  calling_ae           text        NOT NULL,
  association_id       bigint      REFERENCES associations (id),
  received_at          timestamptz NOT NULL DEFAULT now(),
  corrections          integer     NOT NULL DEFAULT 0,
  -- set when startup recovery finds the row's file gone
  missing_since        timestamptz
);
CREATE INDEX instances_study_idx ON instances (study_uid);
CREATE INDEX instances_series_idx ON instances (series_uid);

-- The same SOP Instance UID received again with different bytes: the old copy is replaced, and recorded here.
CREATE TABLE instance_corrections (
  id                       bigserial   PRIMARY KEY,
  sop_instance_uid         text        NOT NULL REFERENCES instances (sop_instance_uid),
  previous_dataset_sha256  bytea       NOT NULL,
  previous_file_bytes      bigint      NOT NULL,
  association_id           bigint      REFERENCES associations (id),
  corrected_at             timestamptz NOT NULL DEFAULT now()
);

-- Records one spooled instance in a single round trip (the C-STORE answer waits for it).
-- Returns the outcome: 'new', 'duplicate' (same dataset bytes already kept: nothing changes), 'restored' (same
-- bytes, but the kept file had gone missing) or 'corrected' (different bytes replace the old copy), and the spool
-- path the caller must delete after the commit, if any.
CREATE FUNCTION record_instance(
  p_sop_instance_uid text, p_series_uid text, p_study_uid text, p_modality text, p_sop_class_uid text,
  p_transfer_syntax_uid text, p_spool_path text, p_file_bytes bigint, p_dataset_sha256 bytea,
  p_calling_ae text, p_association_id bigint,
  OUT outcome text, OUT obsolete_path text)
LANGUAGE plpgsql AS $$
DECLARE
  existing instances%ROWTYPE;
BEGIN
  INSERT INTO studies (study_uid) VALUES (p_study_uid)
    ON CONFLICT (study_uid) DO UPDATE SET last_received_at = now();
  INSERT INTO series (series_uid, study_uid, modality) VALUES (p_series_uid, p_study_uid, p_modality)
    ON CONFLICT (series_uid) DO UPDATE SET last_received_at = now();

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
