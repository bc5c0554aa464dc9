// The spool file of an instance on its way out: read whole ahead of its turn, or from disk in steps.
import fs from 'node:fs';
import { errorMessage } from '../errors';
import type { OutgoingInstance } from './transport';

/** An instance whose spool file cannot be sent (unreadable, not Part 10, odd length): a permanent failure of that instance. */
export class SpoolFileError extends Error {
  constructor(
    message: string,
    readonly midTransfer = false,
  ) {
    super(message);
  }
}

/** A spool file being sent: read whole ahead of its turn, or read from disk in steps. */
export interface SpoolFile {
  size: number;
  /** Up to `length` bytes from `offset`; fewer only at the end of the file. */
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

export async function openSpoolFile(instance: OutgoingInstance, readAhead?: Promise<Buffer>): Promise<SpoolFile> {
  const unreadable = (err: unknown) => new SpoolFileError(`cannot read spool file ${instance.filePath}: ${errorMessage(err)} (the instance must be received again)`);
  if (readAhead) {
    const data = await readAhead.catch((err: unknown) => Promise.reject(unreadable(err)));
    return { size: data.length, read: async (offset, length) => data.subarray(offset, offset + length), close: async () => undefined };
  }
  let handle: fs.promises.FileHandle;
  let size: number;
  try {
    handle = await fs.promises.open(instance.filePath, 'r');
  } catch (err) {
    throw unreadable(err);
  }
  try {
    size = (await handle.stat()).size;
  } catch (err) {
    await handle.close();
    throw unreadable(err);
  }
  return {
    size,
    async read(offset, length) {
      const out = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await handle.read(out, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return out.subarray(0, got);
    },
    close: () => handle.close(),
  };
}
