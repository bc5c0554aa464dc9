/**
 * Sizes as people read them, in decimal units (1 MB = 1,000,000 bytes, as disks are sold): `gateway status`, the tray
 * and the status page all show this. The status page gets this same function's source (see routes.ts).
 */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
