import { wakeableSleep } from '../wake-sleep';
import os from 'node:os';
import type { Pool } from 'pg';
import type { GatewayConfig } from '../config/config';
import type { Logger } from '../logging';
import { errorMessage } from '../errors';
import { createHl7CloudClient, type Hl7CloudClient } from './cloud-client';
import { hl7Cloud, type Hl7Config } from './hl7-config';
import { claimHl7, keepReports, markHl7Delivered, markHl7Failed, markReportConfirmed, reportsToConfirm, type ClaimedHl7 } from './hl7-queue';
import { startHl7Listener, type Hl7Listener } from './listener';
import { Hl7Error, parseHeader } from './message';
import { sendOverMllp } from './mllp-client';

/** Messages sent to the cloud at once (each of another sending facility: one facility's leave one after the other). */
const CLAIM_LIMIT = 8;
const IDLE_POLL_MS = 500;

export interface Hl7Interface {
  listener: Hl7Listener;
  /** The way to the cloud as the last attempts saw it. */
  health(): { lastError?: string; lastErrorAt?: Date };
  stop(graceMs: number): Promise<void>;
}

/**
 * Starts the HL7 v2 interface: the MLLP listener, the forwarder (hl7_messages to the cloud, POST hl7.url) and, with
 * hl7.deliverTo, the reports: fetched from <hl7.url>/outbox into hl7_reports, delivered to the EMR one at a time,
 * and confirmed to the cloud after the EMR's AA.
 */
export async function startHl7Interface(config: GatewayConfig & { hl7: Hl7Config }, pool: Pool, log: Logger): Promise<Hl7Interface> {
  const { hl7 } = config;
  const owner = `${os.hostname()}:${process.pid}/hl7`;
  const retry = { baseSeconds: config.upload.retryBaseSeconds, maxSeconds: config.upload.retryMaxSeconds };
  const client: Hl7CloudClient = createHl7CloudClient(hl7Cloud(hl7, config.upstream));
  let stopping = false;
  const health: { lastError?: string; lastErrorAt?: Date } = {};
  const noteError = (error: string | undefined) => {
    if (error === undefined) return;
    health.lastError = error;
    health.lastErrorAt = new Date();
  };
  const { sleep, wakeAll } = wakeableSleep();

  const forwardOne = async (message: ClaimedHl7) => {
    const outcome = await client.postMessage(message.body, message.characterSet);
    const what = { messageType: message.messageType, controlId: message.controlId, facility: message.sendingFacility, attempts: message.attempts };
    if (outcome.delivered) {
      await markHl7Delivered(pool, 'hl7_messages', owner, message.key);
      log.info('HL7 message delivered to the cloud', what);
      return;
    }
    noteError(outcome.error);
    await markHl7Failed(pool, 'hl7_messages', owner, message.key, outcome, retry);
    if (outcome.permanent) log.error('HL7 message failed permanently; shown as failed until `gateway retry`', { ...what, error: outcome.error });
    else log.warn('HL7 message not delivered to the cloud: will retry', { ...what, error: outcome.error });
  };

  const forward = async () => {
    while (!stopping) {
      try {
        const claimed = await claimHl7(pool, 'hl7_messages', { owner, limit: CLAIM_LIMIT, leaseSeconds: config.upload.leaseSeconds });
        if (claimed.length === 0) await sleep(IDLE_POLL_MS);
        else await Promise.all(claimed.map(forwardOne));
      } catch (err) {
        log.warn('HL7 forwarding interrupted (database)', { error: errorMessage(err) });
        await sleep(2000);
      }
    }
  };

  const fetchReports = async () => {
    let failing = false;
    while (!stopping) {
      try {
        const fetched = await client.fetchOutbox(hl7.pollSeconds);
        const reports = fetched.map(({ id, body }) => {
          try {
            const header = parseHeader(body);
            return { cloudId: id, body, messageType: header.messageType, controlId: header.controlId, sendingFacility: header.sendingFacility, characterSet: header.characterSet };
          } catch (err) {
            // Kept all the same, as failed with the reason: visible, rather than silently never delivered.
            const reason = err instanceof Hl7Error ? err.message : errorMessage(err);
            return { cloudId: id, body, messageType: '', controlId: '', sendingFacility: '', characterSet: undefined, unreadable: `the report from the cloud cannot be read: ${reason}` };
          }
        });
        const kept = await keepReports(pool, reports);
        if (kept > 0) {
          log.info('HL7 reports fetched from the cloud', { reports: kept });
          wakeAll();
        }
        for (const report of reports.filter((r) => r.unreadable)) log.error('HL7 report from the cloud is unreadable: kept as failed', { cloudId: report.cloudId, error: report.unreadable });
        if (failing) log.info('HL7 reports: the cloud answers again');
        failing = false;
        // Reports the cloud offers again (waiting for the EMR, or failed) answer the long poll at once: ask again
        // at once only when there was something new, else after hl7.pollSeconds.
        if (fetched.length > 0 && kept === 0) await sleep(hl7.pollSeconds * 1000);
      } catch (err) {
        if (stopping) return;
        noteError(errorMessage(err));
        if (!failing) log.warn('HL7 reports cannot be fetched from the cloud: will retry', { error: errorMessage(err) });
        failing = true;
        await sleep(retry.baseSeconds * 1000);
      }
    }
  };

  const deliverReports = async (to: NonNullable<Hl7Config['deliverTo']>) => {
    while (!stopping) {
      try {
        await confirmAcked();
        const [report] = await claimHl7(pool, 'hl7_reports', { owner, limit: 1, leaseSeconds: Math.max(config.upload.leaseSeconds, to.ackTimeoutSeconds * 2) });
        if (!report) {
          await sleep(IDLE_POLL_MS);
          continue;
        }
        const what = { messageType: report.messageType, controlId: report.controlId, facility: report.sendingFacility, attempts: report.attempts };
        const outcome = await sendOverMllp(to, report.body, report.controlId);
        if (!outcome.acked) {
          noteError(outcome.error);
          await markHl7Failed(pool, 'hl7_reports', owner, report.key, { error: outcome.error, permanent: false }, retry);
          log.warn('HL7 report not acknowledged by the EMR: will retry', { ...what, error: outcome.error });
          continue;
        }
        const code = outcome.reply.code;
        if (code === 'AA' || code === 'CA') {
          await markHl7Delivered(pool, 'hl7_reports', owner, report.key);
          log.info('HL7 report delivered to the EMR', what);
          await confirmAcked();
        } else {
          const error = `the EMR answered ${code}${outcome.reply.text ? `: ${outcome.reply.text}` : ''}`;
          noteError(error);
          await markHl7Failed(pool, 'hl7_reports', owner, report.key, { error, permanent: true }, retry);
          log.error('HL7 report refused by the EMR; shown as failed until `gateway retry`', { ...what, ackCode: code });
        }
      } catch (err) {
        log.warn('HL7 report delivery interrupted (database)', { error: errorMessage(err) });
        await sleep(2000);
      }
    }
  };

  /** Tells the cloud of reports the EMR acknowledged (also those a crash left acked but unconfirmed). */
  const confirmAcked = async () => {
    for (const { cloudId } of await reportsToConfirm(pool)) {
      try {
        await client.confirm(cloudId);
        await markReportConfirmed(pool, cloudId);
      } catch (err) {
        noteError(errorMessage(err));
        log.warn('HL7 report acknowledged by the EMR, but the cloud cannot be told yet: will retry', { error: errorMessage(err) });
        return;
      }
    }
  };

  const listener = await startHl7Listener(hl7, { pool, log, bindAddress: config.bindAddress, onKept: wakeAll });
  const loops = [forward()];
  if (hl7.deliverTo) loops.push(fetchReports(), deliverReports(hl7.deliverTo));
  else log.info('hl7.deliverTo not set: no reports are fetched from the cloud');
  log.info('HL7 interface started', { port: listener.port, cloud: client.target, deliverTo: hl7.deliverTo ? `${hl7.deliverTo.host}:${hl7.deliverTo.port}` : undefined });

  return {
    listener,
    health: () => ({ ...health }),
    async stop(graceMs) {
      await listener.close(graceMs);
      stopping = true;
      wakeAll();
      // A long poll in flight ends with the agent's connections.
      client.close();
      await Promise.all(loops);
    },
  };
}
