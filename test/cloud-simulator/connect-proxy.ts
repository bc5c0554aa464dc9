// A small HTTP CONNECT proxy, as in a hospital: optional Basic authentication (407 otherwise), 502 when the target
// cannot be reached, and a count of the tunnels it opened (to check connection reuse). Works for any TCP target,
// so the DICOM-TLS transport can be tested through it as well.
import http from 'node:http';
import net from 'node:net';

export interface ConnectProxyOptions {
  /** Require Proxy-Authorization: Basic user:password. */
  auth?: { user: string; password: string };
}

export interface ConnectProxy {
  /** http://[user:password@]127.0.0.1:<port> (with the configured credentials). */
  url: string;
  port: number;
  /** Tunnels established (200 answered). */
  tunnels: number;
  /** Every CONNECT request: target and the status answered. */
  requests: Array<{ target: string; status: number; authorization?: string }>;
  /** http://user:password@127.0.0.1:<port> with other credentials. */
  urlWith(user: string, password: string): string;
  stop(): Promise<void>;
}

export async function startConnectProxy(options: ConnectProxyOptions = {}): Promise<ConnectProxy> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => res.writeHead(405, { 'Content-Type': 'text/plain' }).end('CONNECT only'));
  const proxy: ConnectProxy = {
    url: '',
    port: 0,
    tunnels: 0,
    requests: [],
    urlWith: (user, password) => `http://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${proxy.port}`,
    stop: async () => {},
  };
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const target = req.url ?? '';
    const record = { target, status: 0, authorization: req.headers['proxy-authorization'] };
    proxy.requests.push(record);
    client.on('error', () => {});
    const refuse = (status: number, reason: string, extra = '') => {
      record.status = status;
      client.end(`HTTP/1.1 ${status} ${reason}\r\n${extra}Content-Length: 0\r\nConnection: close\r\n\r\n`);
    };
    if (options.auth) {
      const expected = `Basic ${Buffer.from(`${options.auth.user}:${options.auth.password}`).toString('base64')}`;
      if (req.headers['proxy-authorization'] !== expected) return refuse(407, 'Proxy Authentication Required', 'Proxy-Authenticate: Basic realm="hospital"\r\n');
    }
    const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target);
    if (!match) return refuse(400, 'Bad Request');
    const upstream = net.connect({ host: match[1], port: Number(match[2]) });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.once('error', () => {
      if (record.status === 0) refuse(502, 'Bad Gateway');
      client.destroy();
    });
    upstream.once('connect', () => {
      record.status = 200;
      proxy.tunnels++;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as net.AddressInfo).port;
  proxy.url = options.auth ? proxy.urlWith(options.auth.user, options.auth.password) : `http://127.0.0.1:${proxy.port}`;
  proxy.stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return proxy;
}
