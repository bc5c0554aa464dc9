import crypto from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { Pool } from 'pg';
import type { Logger } from '../logging';
import { errorMessage } from '../errors';
import { createConnectionGate } from '../receive/connection-gate';
import { listen, presentedCertificateVerifies, tlsServerOptions } from '../receive/receiver';
import type { Hl7Config } from './hl7-config';
import { keepMessage } from './hl7-queue';
import { frameMessage, MllpReader } from './mllp';
import { buildAck, ErrorCode, Hl7Error, parseHeader, type AckOptions, type MessageHeader } from './message';

export interface Hl7Listener {
  port: number;
  listening(): boolean;
  /** Messages kept and acknowledged AA since start, and messages answered AE/AR. */
  counts(): { accepted: number; refused: number };
  close(graceMs: number): Promise<void>;
}

/**
 * The MLLP listener for the RIS/EMR (plain, or TLS with hl7.tls): the source-address allow-list and per-address cap
 * at accept like the DICOM listener, a size limit per message and an idle timeout per connection. Each message is
 * committed to PostgreSQL, as the bytes that arrived, before its AA goes out; what cannot be kept or read is answered
 * AE/AR with the reason in ERR. Messages of one connection are answered in the order they came.
 */
export async function startHl7Listener(
  hl7: Hl7Config,
  deps: { pool: Pool; log: Logger; bindAddress: string; /** Called after a message is committed (the forwarder need not wait for its next look). */ onKept?: () => void },
): Promise<Hl7Listener> {
  const { log } = deps;
  const gate = createConnectionGate({
    allowedSourceAddresses: hl7.allowedSourceAddresses,
    maxPerAddress: hl7.maxConnectionsPerAddress,
    log,
    keys: { allowList: 'hl7.allowedSourceAddresses', cap: 'hl7.maxConnectionsPerAddress' },
  });
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  let refused = 0;
  /** Messages between their arrival and their ACK: a stop waits for them. */
  let storing = 0;

  const serve = (socket: net.Socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const reader = new MllpReader(hl7.maxMessageBytes);
    let chain = Promise.resolve();
    socket.setTimeout(hl7.idleTimeoutSeconds * 1000, () => {
      log.info('HL7 connection idle: closed (hl7.idleTimeoutSeconds)', { peer });
      socket.destroy();
    });
    socket.on('error', (err) => log.warn('HL7 connection error', { peer, error: err.message }));
    socket.on('close', () => {
      if (reader.pendingBytes() > 0) log.warn('HL7 connection closed in the middle of a message: not kept, not acknowledged', { peer, bytes: reader.pendingBytes() });
    });
    const answer = (header: MessageHeader | undefined, options: Omit<AckOptions, 'controlId'>) => {
      if (!socket.destroyed) socket.write(frameMessage(buildAck(header, { ...options, controlId: newControlId() })));
    };
    const refuse = (header: MessageHeader | undefined, err: Hl7Error) => {
      refused++;
      log.warn(`HL7 message refused (${err.reject ? 'AR' : 'AE'})`, { peer, reason: err.message, ...loggable(header) });
      answer(header, { code: err.reject ? 'AR' : 'AE', error: { text: err.message, code: err.code } });
    };
    const take = async (data: Buffer) => {
      let header: MessageHeader;
      try {
        header = parseHeader(data);
      } catch (err) {
        if (err instanceof Hl7Error) return refuse(err.header, err);
        throw err;
      }
      // An acknowledgement is never acknowledged (that would loop between two systems).
      if (header.messageType.split('^')[0] === 'ACK') {
        log.warn('HL7 ACK received on the listener: not relayed, not answered', { peer, ...loggable(header) });
        return;
      }
      storing++;
      try {
        await keepMessage(deps.pool, {
          sendingFacility: header.sendingFacility || header.sendingApplication,
          messageType: header.messageType,
          controlId: header.controlId,
          characterSet: header.characterSet,
          body: data,
          peer: socket.remoteAddress ?? '',
        });
        accepted++;
        deps.onKept?.();
        log.info('HL7 message kept', { peer, ...loggable(header) });
        answer(header, { code: 'AA' });
      } catch (err) {
        log.error('HL7 message could not be stored: answered AR, the sender should send it again', { peer, error: errorMessage(err), ...loggable(header) });
        refused++;
        return answer(header, { code: 'AR', error: { text: 'the gateway could not store the message: send it again', code: ErrorCode.internalError } });
      } finally {
        storing--;
      }
    };

    socket.on('data', (chunk: Buffer) => {
      for (const event of reader.push(chunk)) {
        if (event.kind === 'bad-framing') {
          log.warn('HL7 bad MLLP framing: bytes discarded', { peer, reason: event.reason });
          continue;
        }
        chain = chain
          .then(() =>
            event.kind === 'message'
              ? take(event.data)
              : refuse(headerOrUndefined(event.prefix), new Hl7Error(`the message (${event.bytes} bytes) is larger than hl7.maxMessageBytes (${hl7.maxMessageBytes})`, ErrorCode.internalError, true)),
          )
          .catch((err: unknown) => {
            log.error('HL7 message handling failed', { peer, error: errorMessage(err) });
            socket.destroy();
          });
      }
    });
  };

  const bindAddress = hl7.bindAddress ?? deps.bindAddress;
  let server: net.Server;
  if (hl7.tls) {
    server = tls.createServer(tlsServerOptions(hl7.tls, 'hl7.tls.'), (socket) => {
      if (presentedCertificateVerifies(socket, log, 'HL7 MLLP/TLS', 'hl7.tls.caFile')) serve(socket);
    });
    server.prependListener('connection', (socket: net.Socket) => {
      if (!gate.admit(socket)) socket.destroy();
    });
    server.on('tlsClientError', (err, socket) => log.warn('HL7 MLLP/TLS handshake failed', { peer: `${socket.remoteAddress}:${socket.remotePort}`, error: err.message }));
  } else {
    server = net.createServer({ noDelay: true }, (socket) => {
      if (gate.admit(socket)) serve(socket);
      else socket.destroy();
    });
  }
  const port = await listen(server, hl7.port, bindAddress, hl7.tls ? 'HL7 MLLP/TLS' : 'HL7 MLLP');
  log.info('HL7 listener started', { port, bindAddress, tls: hl7.tls !== undefined });

  return {
    port,
    listening: () => server.listening,
    counts: () => ({ accepted, refused }),
    async close(graceMs) {
      const closed = new Promise((resolve) => server.close(resolve));
      const deadline = Date.now() + graceMs;
      // A connection between messages has nothing to lose: wait only for messages being stored to be answered.
      while (storing > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** What may be logged of a message at info level: its type, control ID and facility, never a patient value. */
export function loggable(header: MessageHeader | undefined): Record<string, string> {
  return header ? { messageType: header.messageType, controlId: header.controlId, facility: header.sendingFacility || header.sendingApplication } : {};
}

/** The header of a message as far as it can be read, for a refusal's ACK. */
function headerOrUndefined(data: Buffer): MessageHeader | undefined {
  try {
    return parseHeader(data);
  } catch (err) {
    if (err instanceof Hl7Error) return err.header;
    throw err;
  }
}

function newControlId(): string {
  return `GW${crypto.randomBytes(8).toString('hex').toUpperCase()}`;
}
