import net from 'node:net';
import tls from 'node:tls';
import fs from 'node:fs';
import type { Hl7Config } from './hl7-config';
import { frameMessage, MllpReader } from './mllp';
import { Hl7Error, parseAck, type AckReply } from './message';

/** The EMR's answer: its ACK, or why none came (no connection, closed, timed out). */
export type DeliveryOutcome = { acked: true; reply: AckReply } | { acked: false; error: string };

type DeliverTo = NonNullable<Hl7Config['deliverTo']>;

/**
 * Sends one message to the EMR's MLLP endpoint (plain or TLS) and waits for its ACK. One connection per message:
 * an EMR interface that drops idle connections then never costs a report. Never rejects.
 */
export function sendOverMllp(to: DeliverTo, message: Buffer, controlId: string): Promise<DeliveryOutcome> {
  const where = `${to.host}:${to.port}`;
  return new Promise((resolve) => {
    let done = false;
    let socket: net.Socket;
    const finish = (outcome: DeliveryOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ acked: false, error: `no ACK from the EMR at ${where} within ${to.ackTimeoutSeconds} s (hl7.deliverTo.ackTimeoutSeconds)` }), to.ackTimeoutSeconds * 1000);
    const onConnected = () => socket.write(frameMessage(message));
    try {
      socket = to.tls
        ? tls.connect(
            {
              host: to.host,
              port: to.port,
              servername: net.isIP(to.host) ? undefined : to.host,
              minVersion: 'TLSv1.2',
              ca: to.tls.caFile ? fs.readFileSync(to.tls.caFile) : undefined,
              cert: to.tls.certFile ? fs.readFileSync(to.tls.certFile) : undefined,
              key: to.tls.keyFile ? fs.readFileSync(to.tls.keyFile) : undefined,
            },
            onConnected,
          )
        : net.connect({ host: to.host, port: to.port, noDelay: true }, onConnected);
    } catch (err) {
      socket = new net.Socket();
      finish({ acked: false, error: `cannot connect to the EMR at ${where}: ${(err as Error).message}` });
      return;
    }
    const reader = new MllpReader(1024 * 1024);
    socket.on('data', (chunk: Buffer) => {
      for (const event of reader.push(chunk)) {
        if (event.kind !== 'message') continue;
        try {
          const reply = parseAck(event.data);
          // An ACK of another message (a late one of an earlier attempt) is not this message's.
          if (reply.acknowledgedControlId !== controlId) continue;
          finish({ acked: true, reply });
        } catch (err) {
          finish({ acked: false, error: `the EMR at ${where} answered with something that is not an ACK: ${err instanceof Hl7Error ? err.message : String(err)}` });
        }
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) =>
      finish({ acked: false, error: `EMR at ${where}: ${err.code === 'ECONNREFUSED' ? 'connection refused (is its interface listening?)' : err.message}` }),
    );
    socket.on('close', () => finish({ acked: false, error: `the EMR at ${where} closed the connection without an ACK` }));
  });
}
