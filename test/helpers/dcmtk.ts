import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { freePort } from '../../agent/db/embedded-postgres';

// Without TCP_NODELAY DCMTK waits on Nagle's algorithm at every message: 7-10x slower and meaningless timings.
const DCMTK_ENV = { ...process.env, TCP_NODELAY: '1' };

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a DCMTK tool (storescu, echoscu, ...) to completion. */
export function runDcmtk(tool: string, args: string[], timeoutMs = 120000): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { env: DCMTK_ENV });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface Storescp {
  port: number;
  dir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** DCMTK's storescp keeping datasets as received (+B), accepting every transfer syntax: the reference receiver. */
export async function startStorescp(dir: string, aeTitle = 'REFERENCE'): Promise<Storescp> {
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const child = spawn('storescp', ['+xa', '-pm', '+B', '-aet', aeTitle, '-od', dir, String(port)], { env: DCMTK_ENV, stdio: 'ignore' });
  await waitForPort(port);
  return {
    port,
    dir,
    process: child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, host, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The dataset bytes of a Part 10 file: everything after the file meta group. */
export function datasetBytes(file: string): Buffer {
  const bytes = fs.readFileSync(file);
  let pos = 132;
  const groupLength = bytes.readUInt32LE(pos + 8);
  pos += 12 + groupLength;
  return bytes.subarray(pos);
}
