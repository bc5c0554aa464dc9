import net from 'node:net';
import type { Logger } from '../logging';

/** How often one address's refusals are logged at most (a refused host may reconnect thousands of times). */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

export interface ConnectionGate {
  /**
   * Called for every TCP connection before any byte is read (for DICOM-TLS, before the handshake). Returns false
   * when the connection must be closed at once: its address is off allowedSourceAddresses, or already holds
   * limits.maxAssociationsPerAddress connections. An admitted connection is counted until its socket closes.
   */
  admit(socket: net.Socket): boolean;
}

/** The source-address allow-list and the per-address connection cap, applied at TCP accept. */
export function createConnectionGate(options: {
  allowedSourceAddresses: string[];
  maxPerAddress: number;
  log: Logger;
  /** The configuration keys the refusals name (default: the DICOM listener's). */
  keys?: { allowList: string; cap: string };
}): ConnectionGate {
  const keys = options.keys ?? { allowList: 'allowedSourceAddresses', cap: 'limits.maxAssociationsPerAddress' };
  const allowList = buildAllowList(options.allowedSourceAddresses);
  const open = new Map<string, number>();
  const lastLogged = new Map<string, number>();

  const refuse = (address: string, reason: string) => {
    const now = Date.now();
    if (now - (lastLogged.get(address) ?? -Infinity) < REFUSAL_LOG_INTERVAL_MS) return false;
    // Bounded by the addresses refused within the last minute.
    for (const [other, at] of lastLogged) if (now - at >= REFUSAL_LOG_INTERVAL_MS) lastLogged.delete(other);
    lastLogged.set(address, now);
    options.log.warn(`connection refused at accept: ${reason} (logged once a minute per address)`, { peerAddress: address });
    return false;
  };

  return {
    admit(socket) {
      const address = unmapIpv4(socket.remoteAddress ?? '');
      if (allowList && !allowList.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4')) return refuse(address, `source address ${address} is not on ${keys.allowList}`);
      const count = open.get(address) ?? 0;
      if (count >= options.maxPerAddress) return refuse(address, `source address ${address} already has ${count} connections open (${keys.cap})`);
      open.set(address, count + 1);
      socket.once('close', () => {
        const left = (open.get(address) ?? 1) - 1;
        if (left > 0) open.set(address, left);
        else open.delete(address);
      });
      return true;
    },
  };
}

function buildAllowList(entries: string[]): net.BlockList | undefined {
  if (entries.length === 0) return undefined;
  const list = new net.BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return list;
}

/** A listener on '::' sees IPv4 peers as ::ffff:a.b.c.d; the allow-list is written in plain IPv4. */
function unmapIpv4(address: string): string {
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}
