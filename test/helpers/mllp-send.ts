// The RIS side: Debian python3-hl7's mllp_send, a real MLLP sender nobody here wrote.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { frameMessage } from '../../agent/hl7/mllp';
import { tempDir } from './temp-dir';

/**
 * Sends the messages over one connection with mllp_send and resolves the ACK it printed for each (in order), with
 * its exit code. mllp_send reads MLLP frames from its file and sends them as bytes, so any character set goes through.
 */
export function mllpSend(port: number, messages: Buffer[]): Promise<{ code: number | null; acks: string[]; stderr: string }> {
  const file = path.join(tempDir('mllp-send'), 'messages.hl7');
  fs.writeFileSync(file, Buffer.concat(messages.map(frameMessage)));
  return new Promise((resolve) => {
    // Unbuffered: an ACK it got is printed even when the connection dies after it (a crash test kills the agent).
    const child = spawn('mllp_send', ['--port', String(port), '--file', file, '127.0.0.1'], { env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      // Each ACK is printed as it came (with its MLLP frame bytes); split on the start block.
      const acks = stdout
        .split('\x0b')
        .map((a) => a.replace(/[\x1c\r\n]+$/g, '').trim())
        .filter((a) => a.startsWith('MSH'));
      resolve({ code, acks, stderr });
    });
  });
}
