import { spawn } from 'node:child_process';
import type { TrayLogger } from './tray-logger';

/** Opens a URL in the default browser or a folder in the file manager; a failure is logged, never thrown. */
export type OpenTarget = (target: string) => void;

export function platformOpener(logger: TrayLogger): OpenTarget {
  return (target) => {
    const [command, args] = openerFor(target);
    try {
      const child = spawn(command, args, { detached: true, stdio: 'ignore', windowsHide: true });
      child.on('error', (err) => logger.warn('could not open', { what: describe(target), command, error: err.message }));
      child.unref();
    } catch (err) {
      logger.warn('could not open', { what: describe(target), command, error: (err as Error).message });
    }
  };
}

function openerFor(target: string): [string, string[]] {
  const isUrl = /^https?:\/\//.test(target);
  if (process.platform === 'win32') return isUrl ? ['cmd.exe', ['/c', 'start', '""', target]] : ['explorer.exe', [target]];
  if (process.platform === 'darwin') return ['open', [target]];
  return ['xdg-open', [target]];
}

/** The status page URL carries the API token in its fragment: never log it. */
function describe(target: string): string {
  return target.replace(/#.*$/, '#...');
}
