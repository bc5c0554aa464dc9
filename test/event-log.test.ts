// The agent's warnings and errors in the Windows Application log: the rate-limited writer, the winston transport,
// and the writer script itself, run by a real pwsh with Write-EventLog (Windows-only) stood in by a function that
// records its arguments.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import winston from 'winston';
import { EVENT_ID, EventLogTransport, EventLogWriter, WRITER_SCRIPT, type EventLogEntry } from '../agent/host/event-log';
import { findPowerShell } from '../agent/host/powershell-bridge';
import { tempDir } from './helpers/temp-dir';

/** A writer process that keeps what it is sent, as parsed entries; `starts` counts the processes started. */
function recordingWriter(): { entries: EventLogEntry[]; starts: number; start: () => ChildProcess } {
  const rig = {
    entries: [] as EventLogEntry[],
    starts: 0,
    start: () => {
      rig.starts++;
      const stdin = new PassThrough();
      stdin.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) rig.entries.push(JSON.parse(line) as EventLogEntry);
      });
      const child = Object.assign(new PassThrough(), { stdin, unref: () => undefined }) as unknown as ChildProcess;
      return child;
    },
  };
  return rig;
}

test('event log writer: warnings and errors as entries of their own kind, at most maxPerMinute a minute, the rest counted in one summary', () => {
  let now = 1_000_000;
  const rig = recordingWriter();
  const writer = new EventLogWriter({ maxPerMinute: 3, startWriter: rig.start, now: () => now });
  writer.write('warn', 'upload to the cloud failed; retrying');
  writer.write('error', 'database connection lost');
  for (let i = 0; i < 10; i++) writer.write('error', `failure ${i}`);
  assert.deepEqual(
    rig.entries.map((e) => [e.type, e.id]),
    [
      ['Warning', EVENT_ID.warn],
      ['Error', EVENT_ID.error],
      ['Error', EVENT_ID.error],
    ],
  );
  now += 60_000;
  writer.write('warn', 'next minute');
  assert.equal(rig.entries.length, 5);
  assert.deepEqual(rig.entries[3], { type: 'Warning', id: EVENT_ID.suppressed, message: "9 more warnings and errors in the last minute are only in the gateway's log files" });
  assert.equal(rig.entries[4].message, 'next minute');
  assert.equal(rig.starts, 1, 'one long-lived writer process');
});

test('event log writer: without PowerShell (as under Wine) entries are dropped and nothing throws; a start is retried a minute later', () => {
  let now = 0;
  let attempts = 0;
  const writer = new EventLogWriter({
    startWriter: () => {
      attempts++;
      throw new Error('powershell.exe is not an executable file');
    },
    now: () => now,
  });
  writer.write('error', 'one');
  writer.write('error', 'two');
  now += 61_000;
  writer.write('error', 'three');
  assert.equal(attempts, 2);
});

test('event log transport: only warn and error entries, with their fields', () => {
  const rig = recordingWriter();
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new EventLogTransport(new EventLogWriter({ startWriter: rig.start }))] });
  logger.info('study received', { studyUid: '1.2.3' });
  logger.warn('upload failed', { studyUid: '1.2.3', attempt: 2 });
  logger.error('cannot start the database');
  assert.deepEqual(
    rig.entries.map((e) => [e.type, e.message]),
    [
      ['Warning', 'upload failed\n{"studyUid":"1.2.3","attempt":2}'],
      ['Error', 'cannot start the database'],
    ],
  );
});

test('event log writer script: a real PowerShell writes one Write-EventLog per line, quotes, new lines and non-ASCII intact', async () => {
  const dir = tempDir('event-log-');
  const record = path.join(dir, 'written.jsonl');
  const shim = `function Write-EventLog { param($LogName, $Source, $EntryType, $EventId, $Message) Add-Content -LiteralPath '${record}' -Encoding UTF8 -Value (@{ log = $LogName; source = $Source; type = [string]$EntryType; id = [int]$EventId; message = $Message } | ConvertTo-Json -Compress) }`;
  const child = spawn(findPowerShell(), ['-NoProfile', '-NonInteractive', '-Command', `${shim}\n${WRITER_SCRIPT}`], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const entries: EventLogEntry[] = [
    { type: 'Warning', id: EVENT_ID.warn, message: 'upload to "cloud" failed\nretrying in 30 s' },
    { type: 'Error', id: EVENT_ID.error, message: 'Zürich — disk full' },
  ];
  for (const entry of entries) child.stdin.write(`${JSON.stringify(entry)}\n`);
  child.stdin.end();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  const written = fs
    .readFileSync(record, 'utf8')
    .split(/\r?\n/)
    .filter(Boolean)
    .map((line) => JSON.parse(line.replace(/^\uFEFF/, '')) as Record<string, unknown>);
  assert.deepEqual(
    written,
    entries.map((e) => ({ log: 'Application', source: 'DicomGateway', type: e.type, id: e.id, message: e.message })),
  );
});
