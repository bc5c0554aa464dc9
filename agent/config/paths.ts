import path from 'node:path';

/**
 * Where the configuration lives when --config is not given: $GATEWAY_CONFIG, else on Windows
 * %ProgramData%\DicomGateway\gateway.json (where the PowerShell module installs it), else ./gateway.json.
 */
export function defaultConfigPath(): string {
  if (process.env.GATEWAY_CONFIG) return path.resolve(process.env.GATEWAY_CONFIG);
  if (process.platform === 'win32') return path.join(process.env.ProgramData ?? 'C:\\ProgramData', 'DicomGateway', 'gateway.json');
  return path.resolve('gateway.json');
}

/** The data folder `gateway init` proposes for a configuration file at `configPath`. */
export function defaultDataDir(configPath: string): string {
  if (process.platform === 'win32') return path.dirname(configPath);
  return path.join(path.dirname(configPath), 'gateway-data');
}
