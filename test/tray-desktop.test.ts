// The tray on a real (virtual) desktop: `gateway tray` with systray2's real Go binary under Xvfb, trayer as the
// tray host, dunst as the notification daemon on a private session bus. The agent is the FakeAgentApi.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import winston from 'winston';
import { desktopNotifier } from '../tray/notifications';
import { freeDisplayNumber, startDesktop, waitUntil, type Desktop } from './helpers/desktop';
import { FakeAgentApi } from './helpers/fake-agent-api';
import { GATEWAY_BIN, REPO_ROOT } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';

const OUTPUT_DIR = path.join(REPO_ROOT, 'test', 'output');

let desktop: Desktop;
let dir: string;

before(async () => {
  dir = tempDir('tray-desktop');
  desktop = await startDesktop(dir);
});
after(async () => {
  await desktop?.stop();
});

/** The tray icon's window inside trayer, in root coordinates, or undefined when trayer holds no icon. */
function trayIcon(desktop: Desktop): { x: number; y: number; width: number; height: number } | undefined {
  const line = desktop
    .windows()
    .split('\n')
    .find((l) => l.includes('("systray" "systray")'));
  const match = line?.match(/(\d+)x(\d+)\+-?\d+\+-?\d+\s+\+(-?\d+)\+(-?\d+)/);
  if (!match) return undefined;
  const [width, height, x, y] = match.slice(1).map(Number);
  return { x, y, width, height };
}

/** Whether the GTK popup menu of the icon is on screen (it stays in the window tree, unmapped, once closed). */
function menuOpen(): boolean {
  for (const line of desktop.windows().split('\n')) {
    const match = line.match(/^\s*(0x[0-9a-f]+) "tray_linux_release": \("tray_linux_release" "Tray_linux_release"\)\s+(\d+)x\d+/);
    if (!match || Number(match[2]) < 50) continue;
    const info = execFileSync('xwininfo', ['-id', match[1]], { env: desktop.env, encoding: 'utf8' });
    if (info.includes('Map State: IsViewable')) return true;
  }
  return false;
}

function xdotool(...args: string[]): void {
  execFileSync('xdotool', args, { env: desktop.env });
}

function pixel(file: string, x: number, y: number): [number, number, number] {
  const text = execFileSync('convert', [file, '-format', `%[fx:int(255*p{${x},${y}}.r)],%[fx:int(255*p{${x},${y}}.g)],%[fx:int(255*p{${x},${y}}.b)]`, 'info:'], { encoding: 'utf8' });
  return text.split(',').map(Number) as [number, number, number];
}

/** Opens the icon's menu and picks the n-th enabled item (keyboard: GTK skips disabled items and separators). */
async function pickFromMenu(enabledIndex: number, screenshot?: string): Promise<void> {
  const icon = trayIcon(desktop)!;
  xdotool('mousemove', String(icon.x + icon.width / 2), String(icon.y + icon.height / 2), 'click', '1');
  await waitUntil('the tray menu', menuOpen);
  if (screenshot) execFileSync('import', ['-window', 'root', screenshot], { env: desktop.env });
  for (let i = 0; i <= enabledIndex; i++) xdotool('key', 'Down');
  xdotool('key', 'Return');
  await waitUntil('the menu to close', () => !menuOpen());
}

interface TrayProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** `gateway tray` as a user's logon would start it, on the given desktop environment. */
function startTrayProcess(env: NodeJS.ProcessEnv, configFile: string, stateDir: string): TrayProcess {
  const child = spawn(process.execPath, [GATEWAY_BIN, 'tray', '--config', configFile], { cwd: REPO_ROOT, env: { ...env, XDG_STATE_HOME: stateDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

function writeConfig(file: string, api: FakeAgentApi): void {
  fs.writeFileSync(file, JSON.stringify({ aeTitle: 'TRAY_TEST', dataDir: api.dataDir, api: { port: api.port } }));
}

test('gateway tray shows its icon in the tray host, acts on menu clicks, notifies, and leaves no icon when stopped', async () => {
  const api = new FakeAgentApi(path.join(dir, 'data'));
  await api.start();
  const configFile = path.join(dir, 'gateway.json');
  writeConfig(configFile, api);
  const stateDir = path.join(dir, 'state');
  const { child, output, exited } = startTrayProcess(desktop.env, configFile, stateDir);
  try {
    await waitUntil('the tray icon in trayer', () => trayIcon(desktop) !== undefined && output().includes('"message":"agent answers"'), 30_000);
    // The first poll has answered: give the binary a moment to paint the green icon, then keep a screenshot.
    await new Promise((resolve) => setTimeout(resolve, 500));
    fs.mkdirSync(OUTPUT_DIR, { recursive: true });
    const screenshot = path.join(OUTPUT_DIR, 'tray.png');
    execFileSync('import', ['-window', 'root', screenshot], { env: desktop.env });
    const icon = trayIcon(desktop)!;
    const [r, g, b] = pixel(screenshot, icon.x + icon.width / 2, icon.y + icon.height / 2);
    assert.ok(g > 120 && r < 100 && b < 120, `the icon's centre is green in ${screenshot}: rgb(${r},${g},${b})`);

    await pickFromMenu(0, path.join(OUTPUT_DIR, 'tray-menu.png')); // Pause uploads
    await waitUntil('POST /api/uploads/pause', () => api.saw('POST /api/uploads/pause'));

    await pickFromMenu(1); // Run connectivity test (the first item is Resume uploads now)
    await waitUntil('the connectivity notification in dunst', () => desktop.notifications().some((n) => n.startsWith('Connectivity test passed\t')));
    assert.ok(api.saw('POST /api/connectivity-test'));

    const binaryRunning = () => {
      try {
        execFileSync('pgrep', ['-f', path.join(stateDir, 'dicom-gateway', 'traybin')]);
        return true;
      } catch {
        return false;
      }
    };
    assert.ok(binaryRunning(), 'the tray binary runs from the user folder copy');
    child.kill('SIGTERM');
    assert.equal(await exited, 0, output());
    assert.equal(binaryRunning(), false, 'the tray binary has exited');
    await waitUntil('trayer to let go of the icon', () => trayIcon(desktop) === undefined);
    assert.match(output(), /"message":"tray stopped"/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await api.stop();
  }
});

test('a notification reaches the desktop through node-notifier; one that cannot be shown is logged, not thrown', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = winston.createLogger({ format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
  const savedBus = process.env.DBUS_SESSION_BUS_ADDRESS;
  const savedDisplay = process.env.DISPLAY;
  try {
    // notify-send runs with this process's environment.
    process.env.DBUS_SESSION_BUS_ADDRESS = desktop.env.DBUS_SESSION_BUS_ADDRESS;
    process.env.DISPLAY = desktop.display;
    desktopNotifier(logger)({ kind: 'disk-low', title: 'Disk nearly full', message: 'Only 3 GB free in the data folder' });
    await waitUntil('the notification in dunst', () => desktop.notifications().includes('Disk nearly full\tOnly 3 GB free in the data folder'));

    process.env.DBUS_SESSION_BUS_ADDRESS = `unix:path=${path.join(dir, 'no-bus')}`;
    desktopNotifier(logger)({ kind: 'uploads-failed', title: 'Upload failed', message: 'nobody will see this' });
    await waitUntil('the warning', () => lines.some((l) => l.includes('notification could not be shown')));
  } finally {
    process.env.DBUS_SESSION_BUS_ADDRESS = savedBus;
    process.env.DISPLAY = savedDisplay;
  }
});

test('the real binary is started again until the desktop is there, and its icon joins a tray host that comes later', async () => {
  const lateDir = tempDir('tray-late-desktop');
  const api = new FakeAgentApi(path.join(lateDir, 'data'));
  await api.start();
  const configFile = path.join(lateDir, 'gateway.json');
  writeConfig(configFile, api);
  const displayNumber = freeDisplayNumber();
  const env = { ...process.env, DISPLAY: `:${displayNumber}`, DBUS_SESSION_BUS_ADDRESS: `unix:path=${path.join(lateDir, 'bus')}` };
  const tray = startTrayProcess(env, configFile, path.join(lateDir, 'state'));
  let lateDesktop: Desktop | undefined;
  try {
    // No X server yet (a logon before the shell is up): the binary exits, the tray waits and tries again.
    await waitUntil('a failed start', () => /cannot open display.*tray icon could not be shown; trying again/.test(tray.output()));
    lateDesktop = await startDesktop(lateDir, { displayNumber, trayHost: false });
    await waitUntil('the icon started', () => tray.output().includes('"message":"tray icon shown"'), 30_000);
    assert.equal(trayIcon(lateDesktop), undefined, 'no tray host yet');
    await lateDesktop.startTrayHost();
    await waitUntil('the icon in the late tray host', () => trayIcon(lateDesktop!) !== undefined);
    tray.child.kill('SIGTERM');
    assert.equal(await tray.exited, 0, tray.output());
  } finally {
    if (tray.child.exitCode === null) tray.child.kill('SIGKILL');
    await lateDesktop?.stop();
    await api.stop();
  }
});
