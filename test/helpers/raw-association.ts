import net from 'node:net';
import { encodeAssociateRequest } from '../../agent/dicom/pdu';
import { TransferSyntax, VERIFICATION_SOP_CLASS } from '../../agent/dicom/uids';

/** An A-ASSOCIATE-RQ PDU proposing Verification in implicit VR little endian. */
export function verificationRequest(calledAe: string, callingAe = 'RAWTEST', maxPduLength = 16384): Buffer {
  return encodeAssociateRequest({ calledAe, callingAe, contexts: [{ abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [TransferSyntax.ImplicitVRLittleEndian] }], maxPduLength });
}

export interface RawConnection {
  socket: net.Socket;
  /** Bytes received so far. */
  received(): Buffer;
  /** Resolves when the gateway has closed the connection, with how long it took from the call. */
  closed(): Promise<number>;
  /** Resolves with the first PDU the gateway sent (type, and for A-ASSOCIATE-RJ result/source/reason). */
  firstPdu(timeoutMs?: number): Promise<{ type: number; result?: number; source?: number; reason?: number }>;
}

/**
 * A plain TCP connection to the gateway, for sending hand-made (or broken) PDUs. fromAddress: the loopback address it
 * comes from, so a test's connections count apart from other tests' in per-address limits.
 */
export function connectRaw(port: number, fromAddress = '127.0.0.1'): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: fromAddress });
    const chunks: Buffer[] = [];
    let isClosed = false;
    const waiters = new Set<() => void>();
    socket.on('data', (d) => {
      chunks.push(d);
      for (const w of waiters) w();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      isClosed = true;
      for (const w of waiters) w();
    });
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => Buffer.concat(chunks),
        closed: () => {
          const start = Date.now();
          return new Promise((done) => {
            const check = () => {
              if (isClosed) {
                waiters.delete(check);
                done(Date.now() - start);
              }
            };
            waiters.add(check);
            check();
          });
        },
        firstPdu: (timeoutMs = 10000) =>
          new Promise((done, fail) => {
            const timer = setTimeout(() => fail(new Error('no PDU from the gateway')), timeoutMs);
            const check = () => {
              const data = Buffer.concat(chunks);
              if (data.length >= 10 || (isClosed && data.length >= 1)) {
                clearTimeout(timer);
                waiters.delete(check);
                const type = data[0];
                done(type === 0x03 ? { type, result: data[7], source: data[8], reason: data[9] } : { type });
              } else if (isClosed) {
                clearTimeout(timer);
                waiters.delete(check);
                fail(new Error('connection closed without a PDU'));
              }
            };
            waiters.add(check);
            check();
          }),
      }),
    );
    socket.once('error', reject);
  });
}
