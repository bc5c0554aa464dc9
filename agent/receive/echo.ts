import { Client, constants, requests } from 'dcmjs-dimse';
import type { responses } from 'dcmjs-dimse';
import './quiet-dimse-log';

export interface EchoTarget {
  host: string;
  port: number;
  calledAe: string;
  callingAe: string;
  timeoutMs?: number;
}

/** Sends one C-ECHO; resolves on Success, rejects with the reason (rejected association, status, network). */
export function sendEcho(target: EchoTarget): Promise<void> {
  const timeout = target.timeoutMs ?? 10000;
  return new Promise((resolve, reject) => {
    const where = `${target.calledAe}@${target.host}:${target.port}`;
    const client = new Client();
    const request = new requests.CEchoRequest();
    let outcome: Error | null | undefined;
    request.on('response', (response: responses.CEchoResponse) => {
      const status = response.getStatus();
      outcome = status === constants.Status.Success ? null : new Error(`C-ECHO to ${where} answered status 0x${status.toString(16)}`);
    });
    client.on('associationRejected', (result: { result: number; source: number; reason: number }) => {
      outcome = new Error(`association to ${where} rejected (result ${result.result}, source ${result.source}, reason ${result.reason}${result.reason === constants.RejectReason.CalledAeNotRecognized ? ': called AE title not recognized' : ''})`);
    });
    client.on('networkError', (err: Error) => {
      outcome ??= new Error(`cannot reach ${where}: ${err.message}`);
    });
    client.on('closed', () => {
      if (outcome === null) resolve();
      else reject(outcome ?? new Error(`C-ECHO to ${where} got no answer`));
    });
    client.addRequest(request);
    client.send(target.host, target.port, target.callingAe, target.calledAe, { connectTimeout: timeout, associationTimeout: timeout, pduTimeout: timeout });
  });
}
