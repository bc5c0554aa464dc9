// `gateway` with no command: on a desktop with a configuration in its default place it runs the agent and the
// tray in one process (demo); elsewhere it prints the help. Real Xvfb, trayer and the real tray binary.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { freePort } from '../agent/db/embedded-postgres';
import { createTestDatabase } from './helpers/database';
import { runDcmtk } from './helpers/dcmtk';
import { startDesktop, waitUntil } from './helpers/desktop';
import { GATEWAY_BIN, REPO_ROOT } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';

async function writeConfig(dir: string): Promise<{ file: string; port: number }> {
  const port = await freePort();
  const file = path.join(dir, 'gateway.json');
  const config = {
    aeTitle: 'DESK_GW',
    port,
    bindAddress: '127.0.0.1',
    dataDir: path.join(dir, 'data'),
    database: { url: await createTestDatabase() },
    limits: { minFreeDiskMb: 64 },
    api: { port: 0 },
  };
  fs.writeFileSync(file, JSON.stringify(config));
  return { file, port };
}

test('with no command and no desktop, gateway prints its help and exits 2', async () => {
  const dir = tempDir('desktop-mode-none');
  const { file } = await writeConfig(dir);
  const env: NodeJS.ProcessEnv = { ...process.env, GATEWAY_CONFIG: file };
  delete env.DISPLAY;
  delete env.WAYLAND_DISPLAY;
  const result = spawnSync(process.execPath, [GATEWAY_BIN], { cwd: REPO_ROOT, env, encoding: 'utf8' });
  assert.equal(result.status, 2);
  assert.match(result.stdout, /Usage: gateway <command>/);
});

test('with no command on a desktop, gateway runs the agent and the tray; SIGTERM stops both', async () => {
  const dir = tempDir('desktop-mode');
  const { file, port } = await writeConfig(dir);
  const desktop = await startDesktop(dir);
  try {
    const child = spawn(process.execPath, [GATEWAY_BIN], { cwd: REPO_ROOT, env: { ...desktop.env, GATEWAY_CONFIG: file, HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await waitUntil('the agent', () => output.includes('"agent ready"'), 60_000);
      const echo = await runDcmtk('echoscu', ['-aec', 'DESK_GW', '127.0.0.1', String(port)]);
      assert.equal(echo.code, 0, echo.stderr);
      await waitUntil('the tray icon in trayer', () => desktop.windows().includes('"tray_linux_release"'), 30_000);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, output.slice(-2000));
    assert.equal(desktop.windows().includes('"tray_linux_release"'), false, 'the icon went with the process');
  } finally {
    await desktop.stop();
  }
});
