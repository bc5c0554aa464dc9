// The HL7 part of `gateway test-connectivity`: the cloud's HL7 endpoint (an authenticated request for reports, the
// same HTTPS way as the messages take) and, with hl7.deliverTo, a connection to the EMR's MLLP port.
import net from 'node:net';
import tls from 'node:tls';
import fs from 'node:fs';
import type { GatewayConfig } from '../config/config';
import { errorMessage } from '../errors';
import { createHl7CloudClient } from '../hl7/cloud-client';
import { hl7Cloud } from '../hl7/hl7-config';
import type { ConnectivityStep } from './test-connectivity';

export async function hl7Steps(config: GatewayConfig, timeoutMs: number): Promise<ConnectivityStep[]> {
  if (!config.hl7) return [];
  const steps: ConnectivityStep[] = [];
  const cloud = hl7Cloud(config.hl7, config.upstream);
  const client = createHl7CloudClient(cloud, timeoutMs);
  let started = Date.now();
  try {
    // wait=0: the answer comes at once; reports stay in the cloud's outbox until a DELETE.
    const reports = await client.fetchOutbox(0);
    steps.push({
      name: 'HL7 endpoint',
      status: 'pass',
      detail: `${client.target} answered (${reports.length} report${reports.length === 1 ? '' : 's'} waiting for the EMR)`,
      ms: Date.now() - started,
    });
  } catch (err) {
    const detail = cloud.token ? errorMessage(err).split(cloud.token).join('***') : errorMessage(err);
    steps.push({ name: 'HL7 endpoint', status: 'fail', detail, hint: 'check hl7.url, and hl7.token / caFile / certFile / proxy (unset ones are taken from upstream)', ms: Date.now() - started });
  } finally {
    client.close();
  }
  const to = config.hl7.deliverTo;
  if (to) {
    started = Date.now();
    const where = `${to.host}:${to.port}${to.tls ? ' (TLS)' : ''}`;
    try {
      await new Promise<void>((resolve, reject) => {
        const socket = to.tls
          ? tls.connect({ host: to.host, port: to.port, servername: net.isIP(to.host) ? undefined : to.host, ca: to.tls.caFile ? fs.readFileSync(to.tls.caFile) : undefined })
          : net.connect({ host: to.host, port: to.port });
        const timer = setTimeout(() => socket.destroy(new Error(`no connection within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
        socket.once(to.tls ? 'secureConnect' : 'connect', () => {
          clearTimeout(timer);
          socket.destroy();
          resolve();
        });
        socket.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      steps.push({ name: 'HL7 EMR (MLLP)', status: 'pass', detail: `connected to ${where}`, ms: Date.now() - started });
    } catch (err) {
      steps.push({
        name: 'HL7 EMR (MLLP)',
        status: 'fail',
        detail: `${where}: ${errorMessage(err)}`,
        hint: "check hl7.deliverTo and that the EMR's HL7 interface listens and lets this computer in",
        ms: Date.now() - started,
      });
    }
  }
  return steps;
}
