// `gateway secret`: stores the cloud token or the proxy password protected (secrets.ts), never in gateway.json.
import { parseArgs } from 'node:util';
import { loadConfig } from './config';
import { defaultConfigPath } from './paths';
import { isSecretName, readSecrets, SECRET_NAMES, secretsPath, writeSecret } from './secrets';

export const SECRET_HELP = `Usage: gateway secret set NAME [--config FILE]   the value is read from standard input (first line)
       gateway secret list [--config FILE]        the names stored (never the values)

Names: ${SECRET_NAMES.join(', ')}. They are stored in <dataDir>/secrets.json: on Windows protected
with DPAPI (this computer only; run as administrator), elsewhere in a file only this user may read.
A stored value wins over one in gateway.json. Restart the agent for it to take a new value.`;

/** Runs `gateway secret ...`; resolves to the exit code (2 for a usage error). */
export async function secretCommand(args: string[], input: NodeJS.ReadableStream = process.stdin): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
  } catch (err) {
    console.error(`gateway secret: ${(err as Error).message}\n${SECRET_HELP}`);
    return 2;
  }
  const [action, name, ...extra] = parsed.positionals;
  if (parsed.values.help) {
    console.log(SECRET_HELP);
    return 0;
  }
  const usage = action === 'set' ? name === undefined || !isSecretName(name) || extra.length > 0 : action !== 'list' || name !== undefined;
  if (usage) {
    console.error(`gateway secret: ${action === 'set' && name !== undefined && !isSecretName(name) ? `unknown secret ${JSON.stringify(name)}` : 'usage'}\n${SECRET_HELP}`);
    return 2;
  }
  const configFile = parsed.values.config ?? defaultConfigPath();
  const dataDir = loadConfig(configFile, { secrets: false }).dataDir;
  if (action === 'list') {
    const names = Object.keys(readSecrets(dataDir)).sort();
    console.log(names.length > 0 ? names.join('\n') : `no secret stored in ${secretsPath(dataDir)}`);
    return 0;
  }
  const value = (await readAll(input)).split(/\r?\n/)[0];
  if (value === '') {
    console.error('gateway secret: standard input is empty: give the value on standard input, e.g. gateway secret set upstream.token < token.txt');
    return 2;
  }
  writeSecret(dataDir, name as (typeof SECRET_NAMES)[number], value);
  console.log(`${name} stored in ${secretsPath(dataDir)}; restart the agent for it to use it`);
  return 0;
}

async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
