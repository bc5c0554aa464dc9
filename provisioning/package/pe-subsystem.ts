// The Windows subsystem a PE executable declares (IMAGE_OPTIONAL_HEADER.Subsystem): 3 = console, 2 = GUI. Windows
// opens a console window for a console program started outside one; a GUI one starts without a window. Node runs
// as either: with no console its process.stdout/stderr are write-only sinks (lib/internal/bootstrap: "non-console
// Windows applications"), so `gateway tray` from a GUI copy of gateway.exe starts at logon with no window.
import fs from 'node:fs';

export const SUBSYSTEM = { gui: 2, console: 3 } as const;
export type Subsystem = keyof typeof SUBSYSTEM;

/** The file offset of the Subsystem field: e_lfanew at 0x3C -> "PE\0\0", 20-byte COFF header, then 68 bytes into the optional header (PE32 and PE32+ alike). */
function subsystemOffset(header: Buffer, file: string): number {
  if (header.readUInt16LE(0) !== 0x5a4d) throw new Error(`${file} is not a PE executable (no MZ header)`);
  const pe = header.readUInt32LE(0x3c);
  if (pe + 24 + 70 > header.length || header.readUInt32LE(pe) !== 0x00004550) throw new Error(`${file} is not a PE executable (no PE signature at ${pe})`);
  const magic = header.readUInt16LE(pe + 24);
  if (magic !== 0x10b && magic !== 0x20b) throw new Error(`${file} has an unknown optional header magic 0x${magic.toString(16)}`);
  return pe + 24 + 68;
}

function readHeader(file: string): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const header = Buffer.alloc(4096);
    fs.readSync(fd, header, 0, header.length, 0);
    return header;
  } finally {
    fs.closeSync(fd);
  }
}

export function readSubsystem(file: string): Subsystem | number {
  const header = readHeader(file);
  const value = header.readUInt16LE(subsystemOffset(header, file));
  return (Object.keys(SUBSYSTEM) as Subsystem[]).find((name) => SUBSYSTEM[name] === value) ?? value;
}

/** Rewrites the Subsystem field in place. Before signing: the field is covered by the Authenticode hash. */
export function writeSubsystem(file: string, subsystem: Subsystem): void {
  const offset = subsystemOffset(readHeader(file), file);
  const value = Buffer.alloc(2);
  value.writeUInt16LE(SUBSYSTEM[subsystem]);
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, value, 0, 2, offset);
  } finally {
    fs.closeSync(fd);
  }
}
