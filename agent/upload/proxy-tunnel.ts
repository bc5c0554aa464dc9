import net from 'node:net';

/** Where a transport wants to go: the cloud's host and port (443 for STOW-RS, the DICOM-TLS port otherwise). */
export interface TunnelTarget {
  host: string;
  port: number;
}

/** A connection to the cloud (or to the proxy) that could not be made; the message names the cause and the fix. */
export class TunnelError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'TunnelError';
  }
}

/**
 * The proxy to use: upstream.proxy when set, else HTTPS_PROXY / https_proxy from the environment (empty = none),
 * unless NO_PROXY / no_proxy lists the target host (`*`, `host`, `.domain` or `domain` suffixes, optional :port).
 */
export function effectiveProxy(configured: string | undefined, target?: TunnelTarget): string | undefined {
  if (configured !== undefined && configured.trim() !== '') return configured.trim();
  const value = (process.env.HTTPS_PROXY ?? process.env.https_proxy ?? '').trim();
  if (value === '') return undefined;
  if (target && bypassesProxy(target, process.env.NO_PROXY ?? process.env.no_proxy ?? '')) return undefined;
  return value;
}

function bypassesProxy(target: TunnelTarget, noProxy: string): boolean {
  const host = target.host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return noProxy
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((raw) => {
      const entry = raw.toLowerCase();
      if (entry === '*') return true;
      if (net.isIPv6(entry)) return host === entry;
      const match = /^(.*?)(?::(\d+))?$/.exec(entry.replace(/^\[(.*)\]/, '$1'));
      const name = (match?.[1] ?? entry).replace(/^\*?\./, '');
      if (match?.[2] && Number(match[2]) !== target.port) return false;
      return host === name || host.endsWith(`.${name}`);
    });
}

/** The proxy URL without its password, for messages and logs. */
export function redactProxy(proxy: string): string {
  try {
    const url = new URL(proxy);
    return `${url.protocol}//${url.username ? `${decodeURIComponent(url.username)}@` : ''}${url.host}`;
  } catch {
    return '(unparsable proxy URL)';
  }
}

function hostPort(target: TunnelTarget): string {
  return `${net.isIPv6(target.host) ? `[${target.host}]` : target.host}:${target.port}`;
}

/**
 * A TCP connection to `target`, ready for TLS (the caller wraps it with tls.connect({ socket })): through the HTTP
 * CONNECT proxy when one is configured (`proxy`, else HTTPS_PROXY / https_proxy), with Basic proxy authentication
 * from the URL's user:password; else a direct connection. Nagle is off. Rejects with a TunnelError naming the cause:
 * refused, 407 proxy authentication required, proxy could not reach the target, timeout.
 */
export function openTunnel(target: TunnelTarget, proxy: string | undefined, timeoutMs: number): Promise<net.Socket> {
  const proxyUrl = effectiveProxy(proxy, target);
  if (!proxyUrl) return connectDirect(target, timeoutMs);
  let url: URL;
  try {
    url = new URL(proxyUrl);
  } catch {
    return Promise.reject(new TunnelError(`proxy setting ${JSON.stringify(proxyUrl)} is not a URL (expected http://[user:password@]host:port)`, 'EPROXYURL'));
  }
  if (url.protocol !== 'http:') {
    return Promise.reject(new TunnelError(`proxy ${redactProxy(proxyUrl)} must be an http:// proxy (HTTP CONNECT)`, 'EPROXYURL'));
  }
  return connectThroughProxy(target, url, timeoutMs);
}

/** A direct TCP connection (Nagle off); rejects with a TunnelError naming the cause. */
export function connectDirect(target: TunnelTarget, timeoutMs: number): Promise<net.Socket> {
  const where = hostPort(target);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TunnelError(`timed out after ${seconds(timeoutMs)} connecting to ${where} (firewall dropping outbound traffic? is a proxy required?)`, 'ETIMEDOUT'));
    }, timeoutMs);
    const onError = (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new TunnelError(`cannot connect to ${where}: ${networkCause(err)}`, err.code ?? 'ECONNECT'));
    };
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', onError);
  });
}

function connectThroughProxy(target: TunnelTarget, proxy: URL, timeoutMs: number): Promise<net.Socket> {
  const where = hostPort(target);
  const proxyName = `proxy ${proxy.host}`;
  const proxyPort = proxy.port === '' ? 80 : Number(proxy.port);
  const proxyHost = proxy.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve, reject) => {
    let settled = false;
    const socket = net.connect({ host: proxyHost, port: proxyPort });
    const fail = (err: TunnelError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new TunnelError(`timed out after ${seconds(timeoutMs)} opening a tunnel to ${where} through ${proxyName}`, 'ETIMEDOUT')), timeoutMs);
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) {
        if (received.length > 64 * 1024) fail(new TunnelError(`${proxyName} sent an oversized answer to CONNECT ${where}`, 'EPROXYPROTO'));
        return;
      }
      socket.off('data', onData);
      const head = received.subarray(0, end).toString('latin1');
      const rest = received.subarray(end + 4);
      const statusLine = head.split('\r\n')[0];
      const match = /^HTTP\/\d(?:\.\d)?\s+(\d{3})\s*(.*)$/.exec(statusLine);
      if (!match) return fail(new TunnelError(`${proxyName} did not answer CONNECT ${where} with HTTP (${JSON.stringify(statusLine.slice(0, 80))}); is it an HTTP proxy?`, 'EPROXYPROTO'));
      const status = Number(match[1]);
      const reason = match[2].trim();
      if (status >= 200 && status < 300) {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('error', onError);
        socket.off('close', onClose);
        socket.pause();
        if (rest.length > 0) socket.unshift(rest);
        socket.setNoDelay(true);
        resolve(socket);
        return;
      }
      fail(proxyStatusError(status, reason, proxyName, where, proxy.username !== ''));
    };
    socket.once('connect', () => {
      const lines = [`CONNECT ${where} HTTP/1.1`, `Host: ${where}`];
      if (proxy.username !== '' || proxy.password !== '') {
        const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
        lines.push(`Proxy-Authorization: Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`);
      }
      lines.push('Proxy-Connection: keep-alive', '', '');
      socket.write(lines.join('\r\n'));
    });
    socket.on('data', onData);
    const onError = (err: NodeJS.ErrnoException) => {
      const cause = err.code === 'ECONNREFUSED' ? `${proxyName} refused the connection (is the proxy address right, is it running?)` : `cannot connect to ${proxyName}: ${networkCause(err)}`;
      fail(new TunnelError(cause, err.code === 'ECONNREFUSED' ? 'EPROXYREFUSED' : (err.code ?? 'EPROXY')));
    };
    const onClose = () => fail(new TunnelError(`${proxyName} closed the connection before answering CONNECT ${where}`, 'EPROXYCLOSED'));
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

function proxyStatusError(status: number, reason: string, proxyName: string, where: string, hadCredentials: boolean): TunnelError {
  const answered = `HTTP ${status}${reason ? ` ${reason}` : ''}`;
  if (status === 407) {
    const fix = hadCredentials ? 'the user or password in upstream.proxy is wrong' : 'put user:password in upstream.proxy (http://user:password@proxy:port)';
    return new TunnelError(`407 proxy authentication required by ${proxyName}: ${fix}`, 'EPROXYAUTH');
  }
  if (status === 502 || status === 503 || status === 504) {
    return new TunnelError(`${proxyName} could not reach the target ${where} (${answered}): is the cloud host right, does the proxy allow it?`, 'EPROXYUNREACHABLE');
  }
  if (status === 403 || status === 405) {
    return new TunnelError(`${proxyName} refused the tunnel to ${where} (${answered}): ask for the cloud host and port to be allowed through the proxy`, 'EPROXYREFUSED');
  }
  return new TunnelError(`${proxyName} refused CONNECT ${where} (${answered})`, 'EPROXYREFUSED');
}

/** Plain words for the errors a TCP connection can end with. */
export function networkCause(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused (nothing listening on that port, or a firewall rejecting it)';
    case 'ECONNRESET':
      return 'connection reset by the server or a firewall';
    case 'ETIMEDOUT':
      return 'connection timed out (a firewall dropping the traffic?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host name could not be resolved (${err.code}): check the name and the DNS server`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host unreachable (${err.code}): check the route, gateway and firewall`;
    case 'EPIPE':
      return 'connection closed by the server while we were sending';
    default:
      return err.message;
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
