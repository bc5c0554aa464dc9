/** A configuration problem; the message names the key (and, from loadConfig, the file). */
export class ConfigError extends Error {}
