// The Pester suite of the PowerShell module (test/powershell/*.Tests.ps1) as one node:test, so that the
// single test command covers it. Needs pwsh and Pester: bash test/powershell/install-pester.sh. Fails,
// never skips, when they are missing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { findPowerShell } from '../agent/host/powershell-bridge';

// 560+ Pester tests take ~70 s alone; under a loaded CI machine they have taken over 120 s.
const TIMEOUT_MS = 300_000;
const REPO = path.join(__dirname, '..');

test('Pester suite of the DicomGateway module passes', { timeout: TIMEOUT_MS + 10_000 }, async () => {
  let pwsh: string;
  try {
    pwsh = findPowerShell();
  } catch (err) {
    assert.fail(`${(err as Error).message}. Install pwsh and Pester with: bash test/powershell/install-pester.sh`);
  }
  const child = spawn(pwsh, ['-NoProfile', '-NonInteractive', '-File', path.join('test', 'powershell', 'run-pester.ps1')], {
    cwd: REPO,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode) => resolve(exitCode));
  }).finally(() => clearTimeout(timer));

  const plain = output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  const summary = plain.match(/^Pester: .*$/gm)?.pop();
  console.log(summary ?? 'no Pester summary line');
  assert.ok(!timedOut, `run-pester.ps1 did not finish within ${TIMEOUT_MS / 1000} s; output:\n${plain}`);
  assert.equal(code, 0, `run-pester.ps1 exited ${code}; output:\n${plain}`);
  assert.match(summary ?? '', /^Pester: [1-9]\d* passed, 0 failed, \d+ skipped$/, plain);
});
