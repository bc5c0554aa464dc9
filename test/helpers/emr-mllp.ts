// A stand-in for the hospital EMR's MLLP interface, where reports from the cloud go: it keeps what it receives and
// answers as told (AA, AE with a reason, or not at all), and can refuse connections.
import net from 'node:net';
import tls from 'node:tls';
import { frameMessage, MllpReader } from '../../agent/hl7/mllp';
import { buildAck, parseHeader } from '../../agent/hl7/message';

export type EmrBehavior = 'ack' | 'error' | 'stall' | 'refuse';

export interface EmrStandIn {
  port: number;
  behavior: EmrBehavior;
  /** Every message received, and the answer it got ('none' for stall/refuse). */
  received: Array<{ body: Buffer; controlId: string; answer: 'AA' | 'AE' | 'none' }>;
  stop(): Promise<void>;
}

/** With `secure`, the stand-in speaks MLLP over TLS with that certificate. */
export async function startEmrStandIn(behavior: EmrBehavior = 'ack', secure?: { cert: Buffer; key: Buffer }): Promise<EmrStandIn> {
  const sockets = new Set<net.Socket>();
  let n = 0;
  const emr: EmrStandIn = { port: 0, behavior, received: [], stop: async () => {} };
  const serve = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (emr.behavior === 'refuse') {
      socket.destroy();
      return;
    }
    const reader = new MllpReader(1 << 20);
    socket.on('data', (chunk: Buffer) => {
      for (const event of reader.push(chunk)) {
        if (event.kind !== 'message') continue;
        const header = parseHeader(event.data);
        const answer = emr.behavior === 'ack' ? 'AA' : emr.behavior === 'error' ? 'AE' : 'none';
        emr.received.push({ body: event.data, controlId: header.controlId, answer });
        if (answer === 'none') continue;
        const error = answer === 'AE' ? { code: '204', text: 'unknown patient identifier' } : undefined;
        socket.write(frameMessage(buildAck(header, { code: answer, controlId: `EMR${++n}`, error })));
      }
    });
  };
  const server = secure ? tls.createServer(secure, serve) : net.createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  emr.port = (server.address() as net.AddressInfo).port;
  emr.stop = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return emr;
}
