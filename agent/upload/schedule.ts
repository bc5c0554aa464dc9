import type { UploadConfig } from '../config/upstream-config';

/**
 * The upload rate in force at `now` (local time of the gateway PC): the first schedule window that contains it,
 * else upload.maxMbps. 0 means unlimited. A window whose end is before its start runs over midnight.
 */
export function currentMaxMbps(upload: Pick<UploadConfig, 'maxMbps' | 'schedule'>, now: Date = new Date()): number {
  const minutes = now.getHours() * 60 + now.getMinutes();
  for (const window of upload.schedule) {
    const from = toMinutes(window.from);
    const to = toMinutes(window.to);
    const inside = from <= to ? minutes >= from && minutes < to : minutes >= from || minutes < to;
    // A window over midnight belongs to the day it started on.
    const day = from > to && minutes < to ? (now.getDay() + 6) % 7 : now.getDay();
    if (inside && window.days.includes(day)) return window.maxMbps;
  }
  return upload.maxMbps;
}

function toMinutes(clock: string): number {
  const [hours, minutes] = clock.split(':').map(Number);
  return hours * 60 + minutes;
}
