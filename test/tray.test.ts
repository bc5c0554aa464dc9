// The tray's driver, deterministic: the fake tray binary (test/traybin) stands in for systray2's Go binary and
// hands its JSON-lines protocol to a FakeTrayHost here; a FakeAgentApi stands in for the agent's local API.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, test } from 'node:test';
import { freePort } from '../agent/db/embedded-postgres';
import { FakeAgentApi } from './helpers/fake-agent-api';
import { tempDir } from './helpers/temp-dir';
import { trayIcon as icon, trayRig, type TrayRig } from './helpers/tray-rig';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A tray and a fake agent API that is not started yet (the test starts it). */
async function rig(): Promise<TrayRig & { api: FakeAgentApi }> {
  const dir = tempDir('tray');
  const api = new FakeAgentApi(path.join(dir, 'data'));
  api.port = await freePort();
  const rig = await trayRig(dir, { dataDir: api.dataDir, apiPort: api.port });
  cleanups.push(async () => {
    await rig.stop();
    await api.stop();
  });
  return { ...rig, api };
}

test('starts before the agent (grey), turns green when it answers, grey when it stops, green again after its restart', async () => {
  const { tray, host, api, logs } = await rig();
  tray.start();
  await host.waitFor('the menu', () => host.items.length > 0);
  assert.equal(host.icon, icon('grey'));
  assert.match(host.tooltip, /agent is not running/);
  assert.equal(host.item(/Agent not running/).enabled, false);
  assert.equal(host.item(/Pause uploads/).enabled, false);
  assert.equal(host.item(/Open logs folder/).enabled, true);

  await api.start();
  await host.waitFor('green', () => host.icon === icon('green'));
  assert.equal(host.tooltip, 'DICOM Gateway: working normally; queue: empty');
  await host.waitFor('the menu of a running agent', () => host.find(/Pause uploads/)?.enabled === true);
  assert.equal(host.item(/^State:/).title, 'State: working normally');
  assert.equal(host.item(/^Queue:/).title, 'Queue: empty');
  assert.equal(host.item(/^Last upload:/).title, 'Last upload: never');

  await api.stop();
  await host.waitFor('grey after the agent stopped', () => host.icon === icon('grey'));
  api.status.state = 'amber';
  api.status.reasons = [{ code: 'paused', state: 'amber', message: 'Uploads are paused' }];
  api.status.paused = true;
  await api.start();
  await host.waitFor('amber after the restart', () => host.icon === icon('amber'));
  assert.match(host.tooltip, /Uploads are paused/);
  await host.waitFor('the resume item', () => host.find(/Resume uploads/)?.enabled === true);
  assert.equal(host.connections, 1, 'the icon stayed up across the agent restart');
  assert.deepEqual(
    logs.filter((l) => /agent (answers|not answering)/.test(l.message as string)).map((l) => l.message),
    ['agent not answering', 'agent answers', 'agent not answering', 'agent answers'],
    'agent up/down is logged once per change, not per poll',
  );
});

test('Pause/Resume sends the token and flips with the agent; a refused token is told, not fatal', async () => {
  const { tray, host, api, notices } = await rig();
  await api.start();
  tray.start();
  await host.waitFor('pause item', () => host.find(/Pause uploads/)?.enabled === true);
  host.click(/Pause uploads/);
  await host.waitFor('resume item', () => host.find(/Resume uploads/)?.enabled === true);
  assert.ok(api.saw('POST /api/uploads/pause'));
  host.click(/Resume uploads/);
  await host.waitFor('pause item again', () => host.find(/Pause uploads/)?.enabled === true);
  assert.ok(api.saw('POST /api/uploads/resume'));

  fs.writeFileSync(path.join(api.dataDir, 'tray', 'api-token'), 'wrong-token');
  host.click(/Pause uploads/);
  await host.waitFor('a notice', () => notices.length > 0);
  assert.equal(notices[0].kind, 'action-failed');
  assert.equal(notices[0].title, 'Could not pause uploads');
  assert.match(notices[0].message, /token/);
  assert.equal(api.status.paused, false);
});

test('the connectivity test and Check this PC run from the menu and notify their results', async () => {
  const { tray, host, api, notices } = await rig();
  await api.start();
  tray.start();
  await host.waitFor('enabled items', () => host.find(/Run connectivity test/)?.enabled === true);
  host.click(/Run connectivity test/);
  await host.waitFor('the connectivity result', () => notices.length === 1);
  assert.deepEqual(notices[0], { kind: 'connectivity-result', title: 'Connectivity test passed', message: 'All 1 steps passed, upload 42.5 Mbit/s.' });
  assert.ok(api.saw('POST /api/connectivity-test'));

  host.click(/Check this PC/);
  await host.waitFor('the check result', () => notices.length === 2);
  assert.deepEqual(notices[1], { kind: 'check-this-pc', title: 'PowerShell not available', message: 'PowerShell is not installed on this computer' });

  api.thisPcReport = {
    available: true,
    results: [
      { Name: 'Memory', Status: 'Pass', Detail: '16 GB', Requirement: '8 GB' },
      { Name: 'Disk', Status: 'Fail', Detail: '200 GB', Requirement: '1 TB' },
      { Name: 'Power plan', Status: 'Warn', Detail: 'sleeps after 30 min', Requirement: 'never sleep' },
    ],
  };
  host.click(/Check this PC/);
  await host.waitFor('the second check result', () => notices.length === 3);
  assert.equal(notices[2].message, '1 Pass, 1 Warn, 1 Fail (Disk). See the status page.');
  assert.equal(host.item(/Check this PC/).enabled, true, 'the item is back after the check');
});

test("the status page opens with the token in the fragment; the logs folder is the tray's own, not what the API says", async () => {
  const { tray, host, api, opened } = await rig();
  // Whatever answers on the port may name any folder or program: the tray does not use it.
  api.status.logsDir = 'C:\\Users\\Public\\evil.exe';
  await api.start();
  tray.start();
  await host.waitFor('enabled items', () => host.find(/Open status page/)?.enabled === true);
  host.click(/Open status page/);
  host.click(/Open logs folder/);
  await host.waitFor('two opens', () => opened.length === 2);
  assert.deepEqual(opened, [`http://127.0.0.1:${api.port}/#token=${api.token}`, path.join(api.dataDir, 'logs')]);
});

test('a token file that does not hold a token of this agent stays out of the status page address', async () => {
  const { tray, host, api, opened, logs } = await rig();
  await api.start();
  fs.writeFileSync(path.join(api.dataDir, 'tray', 'api-token'), 'abc&calc.exe\n');
  tray.start();
  await host.waitFor('enabled items', () => host.find(/Open status page/)?.enabled === true);
  host.click(/Open status page/);
  await host.waitFor('one open', () => opened.length === 1);
  assert.equal(opened[0], `http://127.0.0.1:${api.port}/`);
  assert.ok(logs.some((l) => /does not hold a token/.test(l.message as string)));
});

test('the tray finds the agent on the port it published in <dataDir>/tray, not the configured one', async () => {
  const dir = tempDir('tray-port');
  const api = new FakeAgentApi(path.join(dir, 'data'));
  await api.start();
  const configured = await freePort();
  const tray = await trayRig(dir, { dataDir: api.dataDir, apiPort: configured });
  cleanups.push(async () => {
    await tray.stop();
    await api.stop();
  });
  tray.tray.start();
  await tray.host.waitFor('green', () => tray.host.icon === icon('green'));
  assert.ok(api.saw('GET /api/status'));
});

test('notifies a transition once: failures that grow, not failures that stay', async () => {
  const { tray, host, api, notices } = await rig();
  await api.start();
  tray.start();
  await host.waitFor('green', () => host.icon === icon('green'));
  api.status.queue = { studies: 1, instances: 3, bytes: 1_500_000, failed: 2 };
  api.status.state = 'red';
  api.status.reasons = [{ code: 'uploads-failed', state: 'red', message: '2 uploads failed permanently' }];
  await host.waitFor('red', () => host.icon === icon('red'));
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.deepEqual(
    notices.map((n) => n.kind),
    ['uploads-failed'],
  );
  assert.equal(host.item(/^Queue:/).title, 'Queue: 1 study, 3 images (1.5 MB), 2 failed');
});

test('retries while the tray host refuses (no tray at logon yet) and after the binary dies', async () => {
  const { tray, host, logs } = await rig();
  host.mode = 'refuse';
  tray.start();
  await host.waitFor('three attempts', () => host.connections >= 3);
  assert.ok(logs.some((l) => l.message === 'tray icon could not be shown; trying again'));
  host.mode = 'ready';
  await host.waitFor('the icon', () => host.connected && host.items.length > 0);
  const before = host.connections;
  host.items = [];
  host.dropConnection();
  await host.waitFor('the icon again', () => host.connections > before && host.items.length > 0);
  assert.ok(logs.some((l) => l.message === 'tray binary exited; starting it again'));
});

test('Quit tells the binary to exit and stops the tray', async () => {
  const { tray, host } = await rig();
  tray.start();
  await host.waitFor('the menu', () => host.items.length > 0);
  host.click(/Quit tray/);
  await tray.whenStopped();
  assert.ok(host.received.some((m) => m.type === 'exit'));
  await host.waitFor('the binary gone', () => !host.connected);
});
