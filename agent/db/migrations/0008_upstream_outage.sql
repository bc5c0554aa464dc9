-- Upload stage: the cloud as a whole is unreachable. While a row exists for an upstream, no worker of any agent on
-- this database sends to it; one probe at a time (probe_owner, its lease) checks whether it is back, every
-- upload.outageProbeSeconds. Instances wait with their own backoff untouched: the outage is not theirs.
CREATE TABLE upstream_outages (
  upstream          text        PRIMARY KEY,      -- the cloud as `upstreamTarget` names it (dicom-tls://host:port/AE, https://...)
  since             timestamptz NOT NULL DEFAULT now(),
  last_error        text        NOT NULL,
  next_probe_at     timestamptz NOT NULL,
  probes            integer     NOT NULL DEFAULT 0,
  probe_owner       text,
  probe_lease_until timestamptz
);
