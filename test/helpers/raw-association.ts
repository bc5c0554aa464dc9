import net from 'node:net';

/** Builds an A-ASSOCIATE-RQ PDU (PS3.8 9.3.2) proposing Verification in implicit VR little endian. */
export function associateRequest(calledAe: string, callingAe = 'RAWTEST', maxPduLength = 16384): Buffer {
  const ae = (title: string) => Buffer.from(title.padEnd(16, ' '), 'latin1');
  const item = (type: number, body: Buffer) => {
    const header = Buffer.alloc(4);
    header[0] = type;
    header.writeUInt16BE(body.length, 2);
    return Buffer.concat([header, body]);
  };
  const uid = (type: number, value: string) => item(type, Buffer.from(value, 'latin1'));
  const maxLength = Buffer.alloc(4);
  maxLength.writeUInt32BE(maxPduLength);
  const variable = Buffer.concat([
    uid(0x10, '1.2.840.10008.3.1.1.1'),
    item(0x20, Buffer.concat([Buffer.from([1, 0, 0, 0]), uid(0x30, '1.2.840.10008.1.1'), uid(0x40, '1.2.840.10008.1.2')])),
    item(0x50, Buffer.concat([item(0x51, maxLength), uid(0x52, '1.2.3.4')])),
  ]);
  const fixed = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00]), ae(calledAe), ae(callingAe), Buffer.alloc(32)]);
  const header = Buffer.alloc(6);
  header[0] = 0x01;
  header.writeUInt32BE(fixed.length + variable.length, 2);
  return Buffer.concat([header, fixed, variable]);
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

/** A plain TCP connection to the gateway, for sending hand-made (or broken) PDUs. */
export function connectRaw(port: number, host = '127.0.0.1'): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
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
