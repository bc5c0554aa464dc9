-- Retention: a study the cloud has confirmed leaves the local disk after retention.keepDays, or earlier (oldest
-- first) when free space falls below retention.freeDiskTargetMb. The files and rows of its delivered instances go;
-- the study row stays with its receipt. purging_since marks a purge in progress, so that startup recovery finishes
-- one a crash cut short instead of reporting its files as missing; purged_at is when the last purge finished.
ALTER TABLE studies
  ADD COLUMN purging_since timestamptz,
  ADD COLUMN purged_at     timestamptz;

CREATE INDEX studies_done_idx ON studies (done_at) WHERE done_at IS NOT NULL;
