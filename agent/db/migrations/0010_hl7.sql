-- HL7 v2 interface. hl7_messages: messages from the RIS/EMR (MLLP), each committed here before it is ACKed AA, on
-- their way to the cloud (POST hl7.url), with the upload queue's claim/lease/backoff; per sending facility they
-- leave in the order they arrived. hl7_reports: messages the cloud has for the EMR (GET <hl7.url>/outbox), kept
-- here before they are delivered over MLLP one at a time; the cloud is told only after the EMR's AA.

CREATE TABLE hl7_messages (
  id                bigserial   PRIMARY KEY,                 -- arrival order
  sending_facility  text        NOT NULL,                    -- MSH-4 (else MSH-3): the ordering key
  message_type      text        NOT NULL,                    -- MSH-9 code^trigger, e.g. ORM^O01
  control_id        text        NOT NULL,                    -- MSH-10
  character_set     text,                                    -- MSH-18 as sent; NULL = the default (ASCII)
  body              bytea       NOT NULL,                    -- the message as received, byte for byte
  peer              text        NOT NULL,                    -- source address of the sender
  -- queued | sending | done | failed (permanent: shown, never dropped; `gateway retry` queues it again)
  state             text        NOT NULL DEFAULT 'queued',
  attempts          integer     NOT NULL DEFAULT 0,
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  lease_owner       text,
  lease_expires_at  timestamptz,
  last_error        text,
  received_at       timestamptz NOT NULL DEFAULT now(),
  delivered_at      timestamptz
);
CREATE INDEX hl7_messages_pending_idx ON hl7_messages (sending_facility, id) WHERE state IN ('queued', 'sending');

CREATE TABLE hl7_reports (
  seq               bigserial   PRIMARY KEY,                 -- order fetched: the order they go to the EMR
  cloud_id          text        NOT NULL UNIQUE,             -- the cloud's id, for its acknowledgement
  message_type      text        NOT NULL,
  control_id        text        NOT NULL,
  sending_facility  text        NOT NULL,
  character_set     text,
  body              bytea       NOT NULL,
  -- queued | sending | acked (the EMR answered AA; the cloud is not told yet) | done | failed (AE/AR or unreadable)
  state             text        NOT NULL DEFAULT 'queued',
  attempts          integer     NOT NULL DEFAULT 0,
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  lease_owner       text,
  lease_expires_at  timestamptz,
  last_error        text,
  fetched_at        timestamptz NOT NULL DEFAULT now(),
  acked_at          timestamptz,
  done_at           timestamptz
);
CREATE INDEX hl7_reports_pending_idx ON hl7_reports (seq) WHERE state IN ('queued', 'sending', 'acked');
