import { ConfigError } from './config-error';

/** Small validators for configuration values; each error names the key. */

export type Json = Record<string, unknown>;

export function object(value: unknown, key: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${key} must be an object`);
  return value as Json;
}

export function optionalObject(value: unknown, key: string): Json {
  return value === undefined ? {} : object(value, key);
}

export function only(value: Json, prefix: string, allowed: string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new ConfigError(`unknown key ${prefix}${key} (allowed: ${allowed.join(', ')})`);
  }
}

export function string(value: unknown, key: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ConfigError(`${key} must be a non-empty string`);
  return value;
}

export function boolean(value: unknown, key: string): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(`${key} must be true or false`);
  return value;
}

export function integer(value: unknown, key: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${key} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`);
  }
  return value;
}
