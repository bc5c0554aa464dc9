// What the tray hands to the operating system to open: only the status page URL it built and absolute folders,
// and on Windows through explorer.exe by absolute path, never cmd.exe (which would run "&calc" in an argument).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openerFor } from '../tray/open';

const token = 'ab'.repeat(32);

test('on Windows the status page and the logs folder open through explorer.exe by absolute path, never a shell', () => {
  const systemRoot = process.env.SystemRoot;
  process.env.SystemRoot = 'C:\\Windows';
  try {
    assert.deepEqual(openerFor(`http://127.0.0.1:4180/#token=${token}`, 'win32'), ['C:\\Windows\\explorer.exe', [`http://127.0.0.1:4180/#token=${token}`]]);
    assert.deepEqual(openerFor('C:\\ProgramData\\DicomGateway\\logs', 'win32'), ['C:\\Windows\\explorer.exe', ['C:\\ProgramData\\DicomGateway\\logs']]);
  } finally {
    if (systemRoot === undefined) delete process.env.SystemRoot;
    else process.env.SystemRoot = systemRoot;
  }
});

test('anything but the status page URL or an absolute folder is refused', () => {
  for (const target of [
    'http://127.0.0.1:4180/&calc.exe',
    `http://127.0.0.1:4180/#token=${token}&x`,
    'http://evil.example:4180/',
    'https://127.0.0.1:4180/',
    'file:///C:/Windows/System32/calc.exe',
    'http://127.0.0.1:4180/#token=not-a-token',
    'logs',
    '..\\..\\Windows',
  ]) {
    assert.equal(openerFor(target, 'win32'), undefined, target);
  }
  assert.equal(openerFor('relative/logs', 'linux'), undefined);
});

test("elsewhere the desktop's own opener", () => {
  assert.deepEqual(openerFor('http://127.0.0.1:4180/', 'linux'), ['xdg-open', ['http://127.0.0.1:4180/']]);
  assert.deepEqual(openerFor('/var/lib/gateway/logs', 'linux'), ['xdg-open', ['/var/lib/gateway/logs']]);
});
