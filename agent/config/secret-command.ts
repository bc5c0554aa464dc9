// `gateway secret`: stores the cloud token, the proxy password or the database password protected (secrets.ts), never in gateway.json.
import { loadConfig } from './config';
import { defaultConfigPath } from './paths';
import { readSecrets, SETTABLE_SECRET_NAMES, secretsPath, writeSecrets, type SecretName } from './secrets';

/**
 * Runs `gateway secret (set NAME | list)` (its options parsed by the CLI, which also prints its usage); resolves to
 * the exit code (2 for a usage error).
 */
export async function secretCommand(values: { config?: string }, words: string[], input: NodeJS.ReadableStream = process.stdin): Promise<number> {
  const [action, name, ...extra] = words;
  const settable = (SETTABLE_SECRET_NAMES as readonly string[]).includes(name);
  const usage = action === 'set' ? name === undefined || !settable || extra.length > 0 : action !== 'list' || name !== undefined;
  if (usage) {
    const problem = action === 'set' && name !== undefined && !settable ? `${JSON.stringify(name)} is not a secret you can set (names: ${SETTABLE_SECRET_NAMES.join(', ')})` : 'give set NAME or list';
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
  writeSecrets(dataDir, { [name as SecretName]: value });
  console.log(`${name} stored in ${secretsPath(dataDir)}; restart the agent for it to use it`);
  return 0;
}

async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
