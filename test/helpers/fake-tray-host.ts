import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** The fake tray binary (test/traybin): it relays systray2's protocol to a FakeTrayHost. */
export const FAKE_TRAY_BINARY = path.join(__dirname, '..', 'traybin', 'tray_linux_release');

interface Item {
  title: string;
  enabled: boolean;
  __id: number;
}

/**
 * Plays the part of systray2's Go binary and the desktop's tray behind it, through the fake binary: it records
 * the menu and every update, answers "ready" when told (or refuses, like a desktop whose tray is not up yet),
 * and clicks items by title.
 */
export class FakeTrayHost {
  readonly socketPath: string;
  /** Every line the tray sent, parsed, across all runs of the binary. */
  readonly received: Array<Record<string, unknown>> = [];
  /** How many times the binary connected. */
  connections = 0;
  icon = '';
  tooltip = '';
  items: Item[] = [];
  /** 'refuse' closes each connection at once (the binary exits before it is ready). */
  mode: 'ready' | 'refuse' = 'ready';
  private socket: net.Socket | null = null;
  private readonly server: net.Server;
  private readonly waiters = new Set<() => void>();

  constructor(dir: string) {
    this.socketPath = path.join(dir, 'fake-tray.sock');
    this.server = net.createServer((socket) => this.accept(socket));
  }

  listen(): Promise<void> {
    fs.rmSync(this.socketPath, { force: true });
    return new Promise((resolve) => this.server.listen(this.socketPath, resolve));
  }

  close(): Promise<void> {
    this.socket?.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  get connected(): boolean {
    return this.socket !== null;
  }

  /** The item whose title matches, if the menu has one. */
  find(title: RegExp): Item | undefined {
    return this.items.find((i) => title.test(i.title));
  }

  item(title: RegExp): Item {
    const found = this.find(title);
    if (!found) throw new Error(`no menu item ${title}; items: ${this.items.map((i) => i.title).join(' | ')}`);
    return found;
  }

  click(title: RegExp): void {
    const item = this.item(title);
    this.socket!.write(`${JSON.stringify({ type: 'clicked', item, seq_id: this.items.indexOf(item), __id: item.__id })}\n`);
  }

  /** The binary dies (Explorer restarting, a crash). */
  dropConnection(): void {
    this.socket?.destroy();
  }

  /** Waits until `condition` holds: checked at every message and every 20 ms (for state outside the host). */
  async waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (condition()) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        stop();
        resolve();
      };
      const stop = () => {
        clearTimeout(timer);
        clearInterval(poll);
        this.waiters.delete(check);
      };
      const poll = setInterval(check, 20);
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`timed out waiting for ${what}; tooltip "${this.tooltip}", items: ${this.items.map((i) => `${i.title}${i.enabled ? '' : ' (off)'}`).join(' | ')}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  private accept(socket: net.Socket): void {
    this.connections++;
    if (this.mode === 'refuse') {
      socket.destroy();
      this.changed();
      return;
    }
    this.socket = socket;
    let buffered = '';
    socket.on('data', (data) => {
      buffered += data.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim()) this.take(JSON.parse(line) as Record<string, unknown>, socket);
      }
    });
    socket.on('close', () => {
      if (this.socket === socket) this.socket = null;
      this.changed();
    });
    socket.on('error', () => undefined);
    socket.write('{"type": "ready"}\n');
    this.changed();
  }

  private take(message: Record<string, unknown>, socket: net.Socket): void {
    this.received.push(message);
    if (message.type === undefined) {
      // The first line after "ready": the whole menu.
      this.icon = message.icon as string;
      this.tooltip = message.tooltip as string;
      this.items = (message.items as Item[]).map((i) => ({ title: i.title, enabled: i.enabled, __id: i.__id }));
    } else if (message.type === 'update-menu') {
      const menu = message.menu as { icon: string; tooltip: string };
      this.icon = menu.icon;
      this.tooltip = menu.tooltip;
    } else if (message.type === 'update-item') {
      const item = message.item as Item;
      const known = this.items.find((i) => i.__id === item.__id);
      if (known) Object.assign(known, { title: item.title, enabled: item.enabled });
    } else if (message.type === 'exit') {
      socket.end();
    }
    this.changed();
  }

  private changed(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
