import fs from 'node:fs';
import path from 'node:path';
import type { TrayColour } from './tray-state';

/**
 * Where the tray's files are. In development they are read from the repository (tray/icons, systray2's traybin);
 * the packaged build ships them beside the executable in tray/ (a single executable cannot spawn a binary, nor
 * hand a file path to one, from inside itself).
 */
export interface TrayFiles {
  iconsDir: string;
  /** The systray2 Go binary for this platform. */
  binary: string;
  /** node-notifier's SnoreToast on Windows when packaged (node-notifier looks beside its own source otherwise). */
  windowsToaster?: string;
}

export function trayFiles(packaged: boolean): TrayFiles {
  const name = trayBinaryName();
  if (packaged) {
    const dir = path.join(path.dirname(process.execPath), 'tray');
    return { iconsDir: path.join(dir, 'icons'), binary: path.join(dir, name), windowsToaster: process.platform === 'win32' ? path.join(dir, 'snoretoast-x64.exe') : undefined };
  }
  return { iconsDir: path.join(__dirname, 'icons'), binary: path.join(__dirname, '..', 'node_modules', 'systray2', 'traybin', name) };
}

/** systray2's name for the binary of this platform (it finds the binary by this name). */
export function trayBinaryName(): string {
  if (process.platform === 'win32') return 'tray_windows_release.exe';
  if (process.platform === 'darwin') return 'tray_darwin_release';
  return 'tray_linux_release';
}

const COLOURS: TrayColour[] = ['green', 'amber', 'red', 'grey'];

/**
 * The four icons, base64 as the binary takes them, read once at start: handing systray2 a file path would have it
 * read the file for every update, and updates could then overtake each other.
 * Windows' notification area wants .ico; GTK and macOS take PNG.
 */
export function loadTrayIcons(iconsDir: string): Record<TrayColour, string> {
  const extension = process.platform === 'win32' ? 'ico' : 'png';
  const icons = {} as Record<TrayColour, string>;
  for (const colour of COLOURS) {
    const file = path.join(iconsDir, `${colour}.${extension}`);
    try {
      icons[colour] = fs.readFileSync(file).toString('base64');
    } catch (err) {
      throw new Error(`cannot read the tray icon ${file}: ${(err as Error).message}`);
    }
  }
  return icons;
}
