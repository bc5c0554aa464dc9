import type { ClientBase, Pool } from 'pg';
import { retryDelaySql } from '../upload/queue';

/** The two HL7 queues: messages to the cloud (hl7_messages, key id) and reports to the EMR (hl7_reports, key seq). */
export type Hl7Queue = 'hl7_messages' | 'hl7_reports';
const KEY: Record<Hl7Queue, string> = { hl7_messages: 'id', hl7_reports: 'seq' };

export interface KeptMessage {
  sendingFacility: string;
  messageType: string;
  controlId: string;
  characterSet?: string;
  body: Buffer;
  peer: string;
}

/** Commits a message from the RIS/EMR; only after this resolves may it be acknowledged. */
export async function keepMessage(pool: Pool, message: KeptMessage): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO hl7_messages (sending_facility, message_type, control_id, character_set, body, peer) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, [
    message.sendingFacility,
    message.messageType,
    message.controlId,
    message.characterSet ?? null,
    message.body,
    message.peer,
  ]);
  return rows[0].id;
}

export interface ClaimedHl7 {
  key: string;
  messageType: string;
  controlId: string;
  sendingFacility: string;
  characterSet?: string;
  body: Buffer;
  attempts: number;
  /** hl7_reports only. */
  cloudId?: string;
}

interface ClaimedRow {
  key: string;
  message_type: string;
  control_id: string;
  sending_facility: string;
  character_set: string | null;
  body: Buffer;
  attempts: number;
  cloud_id?: string;
}

/**
 * Claims messages due for delivery (queued and due, or sending with an expired lease) with FOR UPDATE SKIP LOCKED,
 * so that any number of agents on one database share the work. A message is claimed only when no earlier one of
 * the same ordering group is still queued or sending, which keeps each group in arrival order: per sending facility
 * for messages to the cloud, one group for reports to the EMR (one at a time). A failed message no longer holds up
 * its group (it waits for `gateway retry`).
 */
export async function claimHl7(pool: Pool, queue: Hl7Queue, options: { owner: string; limit: number; leaseSeconds: number }): Promise<ClaimedHl7[]> {
  const key = KEY[queue];
  const group = queue === 'hl7_messages' ? 'AND e.sending_facility = m.sending_facility' : '';
  const { rows } = await pool.query<ClaimedRow>(
    `WITH due AS (
       SELECT m.${key} FROM ${queue} m
        WHERE ((m.state = 'queued' AND m.next_attempt_at <= now()) OR (m.state = 'sending' AND m.lease_expires_at < now()))
          AND NOT EXISTS (SELECT 1 FROM ${queue} e WHERE e.${key} < m.${key} ${group} AND e.state IN ('queued', 'sending'))
        ORDER BY m.${key}
        LIMIT $2
        FOR UPDATE OF m SKIP LOCKED)
     UPDATE ${queue} m
        SET state = 'sending', lease_owner = $1, lease_expires_at = now() + make_interval(secs => $3), attempts = m.attempts + 1
       FROM due WHERE m.${key} = due.${key}
     RETURNING m.${key}::text AS key, m.message_type, m.control_id, m.sending_facility, m.character_set, m.body, m.attempts${queue === 'hl7_reports' ? ', m.cloud_id' : ''}`,
    [options.owner, options.limit, options.leaseSeconds],
  );
  return rows
    .sort((a, b) => Number(a.key) - Number(b.key))
    .map((r) => ({
      key: r.key,
      messageType: r.message_type,
      controlId: r.control_id,
      sendingFacility: r.sending_facility,
      characterSet: r.character_set ?? undefined,
      body: r.body,
      attempts: r.attempts,
      cloudId: r.cloud_id,
    }));
}

/** The message is where it was going: delivered to the cloud (done), or a report the EMR answered AA (acked). */
export async function markHl7Delivered(pool: Pool, queue: Hl7Queue, owner: string, key: string): Promise<boolean> {
  const done = queue === 'hl7_messages' ? `state = 'done', delivered_at = now()` : `state = 'acked', acked_at = now()`;
  const result = await pool.query(`UPDATE ${queue} SET ${done}, lease_owner = NULL, lease_expires_at = NULL, last_error = NULL WHERE ${KEY[queue]} = $2 AND state = 'sending' AND lease_owner = $1`, [
    owner,
    key,
  ]);
  return (result.rowCount ?? 0) > 0;
}

/** A failed attempt: transient ones are retried after the uploads' capped backoff, permanent ones wait visibly for `gateway retry`. */
export async function markHl7Failed(
  pool: Pool,
  queue: Hl7Queue,
  owner: string,
  key: string,
  failure: { error: string; permanent: boolean },
  retry: { baseSeconds: number; maxSeconds: number },
): Promise<void> {
  await pool.query(
    `UPDATE ${queue}
        SET state = CASE WHEN $3 THEN 'failed' ELSE 'queued' END,
            next_attempt_at = now() + make_interval(secs => CASE WHEN $3 THEN 0 ELSE ${retryDelaySql('attempts', '$5', '$6')} END),
            last_error = left($4, 1000), lease_owner = NULL, lease_expires_at = NULL
      WHERE ${KEY[queue]} = $2 AND state = 'sending' AND lease_owner = $1`,
    [owner, key, failure.permanent, failure.error, retry.baseSeconds, retry.maxSeconds],
  );
}

/** `gateway retry`: failed HL7 messages and reports queued again; resolves to how many. */
export async function requeueFailedHl7(pool: Pool): Promise<number> {
  let count = 0;
  for (const queue of Object.keys(KEY) as Hl7Queue[]) {
    const result = await pool.query(`UPDATE ${queue} SET state = 'queued', next_attempt_at = now(), attempts = 0, last_error = NULL WHERE state = 'failed'`);
    count += result.rowCount ?? 0;
  }
  return count;
}

/**
 * Reports fetched from the cloud, kept before anything else happens to them; one fetched twice is kept once. One
 * that cannot be read is kept as failed, with the reason (`gateway retry` cannot mend it, the cloud must).
 */
export async function keepReports(pool: Pool, reports: Array<Omit<KeptMessage, 'peer'> & { cloudId: string; unreadable?: string }>): Promise<number> {
  if (reports.length === 0) return 0;
  const result = await pool.query(
    `INSERT INTO hl7_reports (cloud_id, message_type, control_id, sending_facility, character_set, body, state, last_error)
     SELECT r.cloud_id, r.message_type, r.control_id, r.sending_facility, r.character_set, r.body, CASE WHEN r.error IS NULL THEN 'queued' ELSE 'failed' END, r.error
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::text[])
            AS r (cloud_id, message_type, control_id, sending_facility, character_set, body, error)
     ON CONFLICT (cloud_id) DO NOTHING`,
    [
      reports.map((r) => r.cloudId),
      reports.map((r) => r.messageType),
      reports.map((r) => r.controlId),
      reports.map((r) => r.sendingFacility),
      reports.map((r) => r.characterSet ?? null),
      reports.map((r) => r.body),
      reports.map((r) => r.unreadable ?? null),
    ],
  );
  return result.rowCount ?? 0;
}

/** Reports the EMR acknowledged whose acknowledgement the cloud has not had yet. */
export async function reportsToConfirm(pool: Pool): Promise<Array<{ cloudId: string; seq: string }>> {
  const { rows } = await pool.query<{ cloud_id: string; seq: string }>(`SELECT cloud_id, seq::text FROM hl7_reports WHERE state = 'acked' ORDER BY seq LIMIT 100`);
  return rows.map((r) => ({ cloudId: r.cloud_id, seq: r.seq }));
}

export async function markReportConfirmed(pool: Pool, cloudId: string): Promise<void> {
  await pool.query(`UPDATE hl7_reports SET state = 'done', done_at = now() WHERE cloud_id = $1 AND state = 'acked'`, [cloudId]);
}

/** The figures for status: per queue, how many are waiting (queued, sending, acked), failed, and done, with the newest error. */
export interface Hl7QueueFigures {
  queued: number;
  failed: number;
  done: number;
  lastError?: string;
}

export async function hl7Figures(db: Pool | ClientBase, queue: Hl7Queue): Promise<Hl7QueueFigures> {
  const { rows } = await db.query<{ queued: number; failed: number; done: number; last_error: string | null }>(
    `SELECT count(*) FILTER (WHERE state IN ('queued', 'sending', 'acked'))::int AS queued,
            count(*) FILTER (WHERE state = 'failed')::int AS failed,
            count(*) FILTER (WHERE state = 'done')::int AS done,
            (SELECT last_error FROM ${queue} WHERE last_error IS NOT NULL ORDER BY ${KEY[queue]} DESC LIMIT 1) AS last_error
       FROM ${queue}`,
  );
  return { queued: rows[0].queued, failed: rows[0].failed, done: rows[0].done, lastError: rows[0].last_error ?? undefined };
}
