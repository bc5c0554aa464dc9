-- Storage Commitment (PS3.4 J): after the cloud answered C-STORE success, the gateway asks it to commit the
-- instances (N-ACTION) and waits for its report (N-EVENT-REPORT), on the same association or on a new one to the
-- gateway's listener. uploads.state gains 'sent': stored by C-STORE, waiting for the report of commitment_uid;
-- then 'done' (committed), 'queued' (sent again: a transient failure or no report in time) or 'failed' (the reason).

CREATE TABLE storage_commitments (
  transaction_uid  text        PRIMARY KEY,
  -- the worker that asked (agent and worker), for support
  requested_by     text        NOT NULL,
  requested_at     timestamptz NOT NULL DEFAULT now(),
  instances        integer     NOT NULL,
  reported_at      timestamptz,
  committed        integer,
  failed           integer
);

ALTER TABLE uploads
  ADD COLUMN commitment_uid text REFERENCES storage_commitments (transaction_uid),
  -- when the cloud confirmed by Storage Commitment (NULL: confirmed by C-STORE or STOW response alone)
  ADD COLUMN committed_at   timestamptz;
CREATE INDEX uploads_commitment_idx ON uploads (commitment_uid) WHERE state = 'sent';
