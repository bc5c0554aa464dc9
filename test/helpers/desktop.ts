import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from './wait';

/**
 * A private Linux desktop for the tray tests: Xvfb on a free display, its own D-Bus session bus, trayer as the
 * tray host (XEmbed; libayatana-appindicator falls back to it when no StatusNotifier watcher runs) and dunst as
 * the notification daemon, which appends every notification it shows to `notificationsFile`.
 */
export interface Desktop {
  display: string;
  /** DISPLAY and DBUS_SESSION_BUS_ADDRESS over this process's environment. */
  env: NodeJS.ProcessEnv;
  notificationsFile: string;
  /** The notifications dunst has shown, as "summary\tbody" lines. */
  notifications(): string[];
  /** `xwininfo -root -tree` of the display. */
  windows(): string;
  /** Starts trayer (when startDesktop was told not to): a tray host that comes after the tray. */
  startTrayHost(): Promise<void>;
  stop(): Promise<void>;
}

export const SCREEN_WIDTH = 800;

export interface DesktopOptions {
  /** Default: a free one. */
  displayNumber?: number;
  /** Start trayer at once (default true). */
  trayHost?: boolean;
}

export async function startDesktop(dir: string, options: DesktopOptions = {}): Promise<Desktop> {
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  };
  try {
    const number = options.displayNumber ?? freeDisplayNumber();
    const display = `:${number}`;
    children.push(spawn('Xvfb', [display, '-screen', '0', `${SCREEN_WIDTH}x300x24`, '-nolisten', 'tcp'], { stdio: 'ignore' }));
    await waitUntil(`Xvfb on ${display}`, () => fs.existsSync(`/tmp/.X11-unix/X${number}`));

    const bus = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1', `--address=unix:path=${path.join(dir, 'bus')}`], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(bus);
    let address = '';
    bus.stdout!.on('data', (data: Buffer) => (address += data.toString()));
    await waitUntil('the D-Bus session bus', () => address.includes('\n'));
    const env = { ...process.env, DISPLAY: display, DBUS_SESSION_BUS_ADDRESS: address.trim() };

    const startTrayHost = async () => {
      children.push(
        spawn('trayer', ['--edge', 'top', '--align', 'right', '--widthtype', 'request', '--height', '32', '--transparent', 'false', '--tint', '0xffffff', '--alpha', '0'], { env, stdio: 'ignore' }),
      );
      await waitUntil('trayer', () => xwininfo(env).includes('"panel"'));
    };

    const notificationsFile = path.join(dir, 'notifications.txt');
    fs.writeFileSync(notificationsFile, '');
    const script = path.join(dir, 'log-notification.sh');
    // dunst runs a rule's script with appname, summary, body, icon and urgency as arguments.
    fs.writeFileSync(script, `#!/bin/sh\nprintf '%s\\t%s\\n' "$2" "$3" >> '${notificationsFile}'\n`, { mode: 0o755 });
    const dunstrc = path.join(dir, 'dunstrc');
    fs.writeFileSync(dunstrc, `[global]\n    font = Monospace 8\n\n[log-everything]\n    summary = "*"\n    script = ${script}\n`);
    children.push(spawn('dunst', ['-config', dunstrc], { env, stdio: 'ignore' }));
    await waitUntil('dunst', () => busHas(env, 'org.freedesktop.Notifications'));
    if (options.trayHost ?? true) await startTrayHost();

    return {
      display,
      env,
      notificationsFile,
      notifications: () => fs.readFileSync(notificationsFile, 'utf8').split('\n').filter(Boolean),
      windows: () => xwininfo(env),
      startTrayHost,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A display number with no X server (nor a stale lock) of another test or engineer. */
export function freeDisplayNumber(): number {
  for (;;) {
    const n = 100 + Math.floor(Math.random() * 800);
    if (!fs.existsSync(`/tmp/.X11-unix/X${n}`) && !fs.existsSync(`/tmp/.X${n}-lock`)) return n;
  }
}

function xwininfo(env: NodeJS.ProcessEnv): string {
  try {
    return execFileSync('xwininfo', ['-root', '-tree'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

function busHas(env: NodeJS.ProcessEnv, name: string): boolean {
  try {
    const names = execFileSync('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.ListNames'], {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return names.includes(`"${name}"`);
  } catch {
    return false;
  }
}

/** waitFor with a desktop's pace: windows and processes appear within seconds, checked every 50 ms. */
export function waitUntil(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  return waitFor(what, condition, timeoutMs, 50);
}
