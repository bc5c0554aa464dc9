// The agent's warnings and errors also go to the Windows Application log (source DicomGateway, which
// Install-DicomGateway registers), where monitoring tools look. A Node executable cannot call ReportEvent: one
// long-lived powershell.exe writes the entries, fed one JSON line each on its stdin (a process per entry would cost
// a second each). At most `maxPerMinute` entries a minute reach the log, so a failure loop cannot flood it; what is
// held back is counted in one summary entry. The log files keep everything.
import { spawn, type ChildProcess } from 'node:child_process';
import TransportStream from 'winston-transport';
import type winston from 'winston';
import { findPowerShell } from './powershell-bridge';

export const EVENT_SOURCE = 'DicomGateway';
/** Event IDs by kind, so that monitoring rules can tell them apart. */
export const EVENT_ID = { warn: 1001, error: 1002, suppressed: 1000 } as const;
/** The Application log refuses longer messages (31,839 characters). */
const MAX_MESSAGE = 30_000;

export interface EventLogEntry {
  type: 'Warning' | 'Error';
  id: number;
  message: string;
}

/**
 * What the powershell.exe writer runs: reads JSON lines until stdin closes, one Write-EventLog each. Its own UTF-8
 * reader: [Console]::In of Windows PowerShell decodes with the OEM code page. An entry that fails is skipped (the
 * source not registered yet, a full log): the log files have it anyway.
 */
export const WRITER_SCRIPT = [
  '$ErrorActionPreference = "Stop"',
  '$reader = New-Object System.IO.StreamReader -ArgumentList ([Console]::OpenStandardInput()), (New-Object System.Text.UTF8Encoding -ArgumentList $false)',
  'while ($null -ne ($line = $reader.ReadLine())) {',
  '  try {',
  '    $entry = $line | ConvertFrom-Json',
  `    Write-EventLog -LogName Application -Source '${EVENT_SOURCE}' -EntryType $entry.type -EventId $entry.id -Message $entry.message`,
  '  } catch { }',
  '}',
].join('\n');

/** Starts the writer; its stdin takes the JSON lines. */
export type WriterProcess = () => ChildProcess;

function powershellWriter(): ChildProcess {
  const encoded = Buffer.from(WRITER_SCRIPT, 'utf16le').toString('base64');
  return spawn(findPowerShell(), ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', encoded], {
    stdio: ['pipe', 'ignore', 'ignore'],
    windowsHide: true,
  });
}

export interface EventLogWriterOptions {
  maxPerMinute?: number;
  startWriter?: WriterProcess;
  now?: () => number;
}

/** Rate-limited entries to one writer process, started at the first entry and again (once a minute at most) after it died. */
export class EventLogWriter {
  private readonly maxPerMinute: number;
  private readonly startWriter: WriterProcess;
  private readonly now: () => number;
  private child: ChildProcess | undefined;
  private lastStart = -Infinity;
  private windowStart = -Infinity;
  private writtenInWindow = 0;
  private suppressed = 0;

  constructor(options: EventLogWriterOptions = {}) {
    this.maxPerMinute = options.maxPerMinute ?? 30;
    this.startWriter = options.startWriter ?? powershellWriter;
    this.now = options.now ?? Date.now;
  }

  write(level: 'warn' | 'error', message: string): void {
    const now = this.now();
    if (now - this.windowStart >= 60_000) {
      if (this.suppressed > 0) {
        this.send({ type: 'Warning', id: EVENT_ID.suppressed, message: `${this.suppressed} more warnings and errors in the last minute are only in the gateway's log files` });
      }
      this.windowStart = now;
      this.writtenInWindow = 0;
      this.suppressed = 0;
    }
    if (this.writtenInWindow >= this.maxPerMinute) {
      this.suppressed++;
      return;
    }
    this.writtenInWindow++;
    this.send({ type: level === 'error' ? 'Error' : 'Warning', id: EVENT_ID[level], message: message.slice(0, MAX_MESSAGE) });
  }

  /** Ends the writer: it writes what it has read, then exits. */
  close(): void {
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private send(entry: EventLogEntry): void {
    const child = this.writer();
    if (child?.stdin?.writable) child.stdin.write(`${JSON.stringify(entry)}\n`);
  }

  private writer(): ChildProcess | undefined {
    if (this.child) return this.child;
    const now = this.now();
    if (now - this.lastStart < 60_000) return undefined;
    this.lastStart = now;
    let child: ChildProcess;
    try {
      child = this.startWriter();
    } catch {
      return undefined; // no PowerShell (e.g. under Wine): the log files are the only record
    }
    const forget = () => {
      if (this.child === child) this.child = undefined;
    };
    child.on('error', forget);
    child.on('exit', forget);
    child.stdin?.on('error', forget);
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    this.child = child;
    return child;
  }
}

/** The message of a log entry with its fields (never PHI at warn/error: callers log identifiers, not names). */
export function eventMessage(info: winston.Logform.TransformableInfo): string {
  const { level: _level, message, timestamp: _timestamp, ...fields } = info;
  const text = typeof message === 'string' ? message : JSON.stringify(message);
  return Object.keys(fields).length > 0 ? `${text}\n${JSON.stringify(fields)}` : text;
}

/** A winston transport for warn and error entries. */
export class EventLogTransport extends TransportStream {
  constructor(private readonly writer: EventLogWriter = new EventLogWriter()) {
    super({ level: 'warn' });
  }

  override log(info: winston.Logform.TransformableInfo, callback: () => void): void {
    if (info.level === 'warn' || info.level === 'error') this.writer.write(info.level, eventMessage(info));
    callback();
  }

  override close(): void {
    this.writer.close();
  }
}
