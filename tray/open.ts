import { spawn } from 'node:child_process';
import path from 'node:path';
import type { TrayLogger } from './tray-logger';

/** Opens a URL in the default browser or a folder in the file manager; a failure is logged, never thrown. */
export type OpenTarget = (target: string) => void;

/** The only URLs the tray opens: the status page it built, on the loopback address, with at most the token. */
const STATUS_PAGE_URL = /^http:\/\/127\.0\.0\.1:\d{1,5}\/(#token=[0-9a-f]{64})?$/;

export function platformOpener(logger: TrayLogger, platform: NodeJS.Platform = process.platform): OpenTarget {
  return (target) => {
    const opener = openerFor(target, platform);
    if (!opener) {
      logger.warn('refused to open', { what: describe(target) });
      return;
    }
    const [command, args] = opener;
    try {
      const child = spawn(command, args, { detached: true, stdio: 'ignore', windowsHide: true });
      child.on('error', (err) => logger.warn('could not open', { what: describe(target), command, error: err.message }));
      child.unref();
    } catch (err) {
      logger.warn('could not open', { what: describe(target), command, error: (err as Error).message });
    }
  };
}

/**
 * The program and arguments that open a target, or undefined for anything but the status page URL or an absolute
 * folder. On Windows explorer.exe by absolute path for both, never cmd.exe: a shell would read "&" or "^" in
 * its argument as commands.
 */
export function openerFor(target: string, platform: NodeJS.Platform): [string, string[]] | undefined {
  const isUrl = /^[a-z]+:\/\//i.test(target);
  if (isUrl ? !STATUS_PAGE_URL.test(target) : !(platform === 'win32' ? path.win32 : path.posix).isAbsolute(target)) return undefined;
  if (platform === 'win32') return [path.win32.join(process.env.SystemRoot ?? 'C:\\Windows', 'explorer.exe'), [target]];
  if (platform === 'darwin') return ['open', [target]];
  return ['xdg-open', [target]];
}

/** The status page URL carries the API token in its fragment: never log it. */
function describe(target: string): string {
  return target.replace(/#.*$/, '#...');
}
