import net from 'node:net';
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

export function address(value: unknown, key: string): string {
  const text = string(value, key);
  if (net.isIP(text) === 0) throw new ConfigError(`${key} must be an IP address such as 0.0.0.0 or 127.0.0.1 (got ${JSON.stringify(text)})`);
  return text;
}

export function stringList(value: unknown, key: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new ConfigError(`${key} must be a list of strings`);
  return value as string[];
}

/** A list of IP addresses and CIDR blocks (a source-address allow-list). */
export function addressList(value: unknown, key: string): string[] {
  return stringList(value, key).map((entry, i) => {
    if (!isAddressOrCidr(entry)) throw new ConfigError(`${key}[${i}] ${JSON.stringify(entry)} is not an IP address or CIDR block`);
    return entry;
  });
}

function isAddressOrCidr(entry: string): boolean {
  const [ip, bits, ...rest] = entry.split('/');
  const family = net.isIP(ip);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}
