// `gateway secret`: stores the cloud token or the proxy password protected (secrets.ts), never in gateway.json.
import { loadConfig } from './config';
import { defaultConfigPath } from './paths';
import { isSecretName, readSecrets, SECRET_NAMES, secretsPath, writeSecret } from './secrets';

/**
 * Runs `gateway secret (set NAME | list)` (its options parsed by the CLI, which also prints its usage); resolves to
 * the exit code (2 for a usage error).
 */
export async function secretCommand(values: { config?: string }, words: string[], input: NodeJS.ReadableStream = process.stdin): Promise<number> {
  const [action, name, ...extra] = words;
  const usage = action === 'set' ? name === undefined || !isSecretName(name) || extra.length > 0 : action !== 'list' || name !== undefined;
  if (usage) {
    const problem = action === 'set' && name !== undefined && !isSecretName(name) ? `unknown secret ${JSON.stringify(name)} (names: ${SECRET_NAMES.join(', ')})` : 'give set NAME or list';
    console.error(`gateway secret: ${problem}\nRun 'gateway secret --help' for usage.`);
    return 2;
  }
  const configFile = values.config ?? defaultConfigPath();
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
