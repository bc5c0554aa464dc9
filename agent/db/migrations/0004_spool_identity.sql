-- Several agents may share one database, each with its own spool folder: an instance can only be uploaded by an
-- agent that can read its file. Each spool has an id (<dataDir>/spool/.spool-id); every connection of an agent
-- sets gateway.spool_id, and the instance row records the spool its current file is in. Agents sharing one spool
-- folder share the work; rows from before this migration (spool_id NULL) may be claimed by any agent.

ALTER TABLE instances ADD COLUMN spool_id text;
CREATE INDEX instances_spool_idx ON instances (spool_id);

CREATE FUNCTION record_spool_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.spool_id := nullif(current_setting('gateway.spool_id', true), '');
  RETURN NEW;
END;
$$;

CREATE TRIGGER instances_record_spool_id
  BEFORE INSERT OR UPDATE OF spool_path ON instances
  FOR EACH ROW EXECUTE FUNCTION record_spool_id();
