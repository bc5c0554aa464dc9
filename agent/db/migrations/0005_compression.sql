-- Compression stage: one decision per received version of an instance. Every kept version starts 'pending';
-- the compressor decides 'kept' (send as received) or 'compressed' (a verified compressed file is ready). While
-- compression is enabled, the upload queue claims an instance only once the decision for its current version is
-- made, and sends the compressed file when there is one.

CREATE TABLE compressions (
  sop_instance_uid     text        PRIMARY KEY REFERENCES instances (sop_instance_uid),
  -- the received version this decision is for: a correction makes it pending again
  dataset_sha256       bytea       NOT NULL,
  -- pending | kept | compressed
  state                text        NOT NULL DEFAULT 'pending',
  -- the rule that decided, and why an instance was kept
  rule                 text,
  reason               text,
  -- the compressed file, relative to <dataDir>/compressed ('/'-separated); left in place by a correction until
  -- the new version is decided, so the compressor can remove it
  compressed_path      text,
  transfer_syntax_uid  text,
  file_bytes           bigint,
  -- SHA-256 of the compressed file's dataset bytes (what the cloud receives)
  compressed_sha256    bytea,
  lossy                boolean,
  queued_at            timestamptz NOT NULL DEFAULT now(),
  decided_at           timestamptz
);
CREATE INDEX compressions_pending_idx ON compressions (queued_at) WHERE state = 'pending';

CREATE FUNCTION queue_compression() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO compressions (sop_instance_uid, dataset_sha256)
  VALUES (NEW.sop_instance_uid, NEW.dataset_sha256)
  ON CONFLICT (sop_instance_uid) DO UPDATE
    SET dataset_sha256 = EXCLUDED.dataset_sha256, state = 'pending', rule = NULL, reason = NULL,
        queued_at = now(), decided_at = NULL
    WHERE compressions.dataset_sha256 <> EXCLUDED.dataset_sha256;
  RETURN NEW;
END;
$$;

CREATE TRIGGER instances_queue_compression
  AFTER INSERT OR UPDATE OF dataset_sha256 ON instances
  FOR EACH ROW EXECUTE FUNCTION queue_compression();

-- Instances kept before this migration are sent as received: their uploads must not wait.
INSERT INTO compressions (sop_instance_uid, dataset_sha256, state, reason, decided_at)
SELECT sop_instance_uid, dataset_sha256, 'kept', 'received before compression existed', now() FROM instances
ON CONFLICT DO NOTHING;
