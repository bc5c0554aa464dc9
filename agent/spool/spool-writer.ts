import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { buildFileMetaHeader, type FileMetaFields } from './file-meta';
import { DatasetHeaderReader, type DatasetHeader } from './dataset-header';
import { fsyncDirectory } from './fsync-directory';

/** Temp files of instances still arriving; anything here at startup was never acknowledged. */
export const INCOMING_DIR = '.incoming';

/** A complete temp file, not yet in its place and not yet indexed (durable once the writer has finished). */
export interface SpooledInstance {
  tempPath: string;
  fileBytes: number;
  datasetBytes: number;
  datasetSha256: Buffer;
  header: DatasetHeader;
  /** Set when the dataset's structure could not be read; such an instance must be refused. */
  problem?: string;
}

/** An empty temp file in the spool's incoming folder, open for writing. */
export interface TempFile {
  path: string;
  fd: number;
}

/**
 * Creates a temp file in the threadpool: creating one waits 0.2-0.8 ms on the filesystem journal, so a receiver
 * opens the next instance's file while the current one arrives (see StoreScp) and the writer starts at once.
 */
export function openTempFile(spoolDir: string): Promise<TempFile> {
  const tempPath = path.join(spoolDir, INCOMING_DIR, `${crypto.randomUUID()}.part`);
  return new Promise((resolve, reject) =>
    fs.open(tempPath, 'w', 0o640, (err, fd) => (err ? reject(new Error(`cannot create spool file ${tempPath}: ${err.message}`)) : resolve({ path: tempPath, fd }))),
  );
}

/** Closes and removes a temp file that was never used (an association ended with its spare file open). */
export async function discardTempFile(temp: TempFile): Promise<void> {
  await fs.promises.unlink(temp.path).catch(() => undefined);
  await new Promise<void>((resolve) => fs.close(temp.fd, () => resolve()));
}

/**
 * Hashing waits for the fsync, which leaves the main thread idle, unless this many dataset bytes await it:
 * instances up to this size are hashed off the receive path, larger ones in steps of this size.
 */
const HASH_BACKLOG_LIMIT = 4 * 1024 * 1024;

/**
 * Fragments (views of the socket's 64 KiB reads) reach the file in one writev per this many bytes, in the threadpool:
 * with concurrent associations a write waits on the filesystem journal that other files' fsyncs commit (on the main
 * thread such waits took a fifth of its time with 8 associations, see test/bench/receive.ts --cpu-prof), and one
 * large write costs less than several small ones.
 */
const WRITE_BATCH_BYTES = 256 * 1024;

/**
 * Streams one instance to a temp file as its P-DATA fragments arrive: our file meta header, then the dataset
 * bytes exactly as sent. It hashes the dataset and reads the indexed attributes on the way; it never holds more
 * of the dataset than HASH_BACKLOG_LIMIT. Ending the stream fsyncs and closes the file; destroying it removes
 * the temp file.
 */
export class SpoolWriter extends Writable {
  private readonly temp: Promise<TempFile>;
  private tempPath = '';
  private fd: number | undefined;
  private readonly hash = crypto.createHash('sha256');
  private readonly headerReader: DatasetHeaderReader;
  private readonly meta: Buffer;
  private datasetBytes = 0;
  private unhashed: Buffer[] = [];
  private unhashedBytes = 0;
  private unwritten: Buffer[] = [];
  private unwrittenBytes = 0;
  private ioRunning = false;
  private afterIo: (() => void) | undefined;
  private completed = false;
  private contents: Promise<SpooledInstance> | undefined;
  private resolveContents!: () => void;
  private readonly hashed = new Promise<void>((resolve) => (this.resolveContents = resolve));

  /** `temp`: a file opened ahead by openTempFile (else one is opened now); the writer owns it from here on. */
  constructor(spoolDir: string, fields: FileMetaFields, temp: Promise<TempFile> = openTempFile(spoolDir)) {
    super({ highWaterMark: 1024 * 1024 });
    this.temp = temp;
    this.meta = buildFileMetaHeader(fields);
    this.headerReader = new DatasetHeaderReader(fields.transferSyntaxUid);
  }

  // Until the file is open the first fragments wait in the stream's buffer.
  override _construct(callback: (error?: Error | null) => void): void {
    this.temp.then(
      (temp) => {
        this.tempPath = temp.path;
        this.fd = temp.fd;
        this.unwritten.push(this.meta);
        this.unwrittenBytes += this.meta.length;
        callback();
      },
      (err: Error) => callback(err),
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.add(chunk);
    this.writeUnwritten(WRITE_BATCH_BYTES, callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    for (const { chunk } of chunks) this.add(chunk);
    this.writeUnwritten(WRITE_BATCH_BYTES, callback);
  }

  // The fsync waits for the disk: it goes to the threadpool, and the rest of the hash is computed meanwhile.
  override _final(callback: (error?: Error | null) => void): void {
    this.writeUnwritten(1, (writeErr) => {
      if (writeErr) return callback(writeErr);
      this.io((done) =>
        fs.fsync(this.fd!, (syncErr) => {
          // Closed in place: a close after the fsync has nothing to wait for, and a threadpool trip would delay
          // the answer.
          let closeErr: Error | undefined;
          try {
            fs.closeSync(this.fd!);
          } catch (err) {
            closeErr = err as Error;
          }
          this.fd = undefined;
          done();
          const err = syncErr ?? closeErr;
          if (err) return callback(new Error(`cannot flush spool file ${this.tempPath} to disk: ${err.message}`));
          this.completed = true;
          callback();
        }),
      );
    });
    this.hashUnhashed();
    this.resolveContents();
  }

  // A write or fsync still running in the threadpool keeps the file open until it returns: a descriptor closed
  // under it could be reused by another file, which would then receive this one's bytes.
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.unhashed = [];
    this.unwritten = [];
    const cleanUp = () => (this.completed ? callback(error) : fs.unlink(this.tempPath, () => callback(error)));
    const close = () => {
      const fd = this.fd;
      this.fd = undefined;
      if (fd === undefined) cleanUp();
      else fs.close(fd, cleanUp);
    };
    if (this.ioRunning) this.afterIo = close;
    else close();
  }

  /**
   * What was written, with the dataset's hash and indexed attributes: known once the stream has ended, while the
   * fsync may still run (the caller prepares the database row meanwhile; the file is durable once 'finish' fired).
   * Never settles for a stream destroyed before it ended.
   */
  spooled(): Promise<SpooledInstance> {
    this.contents ??= this.hashed.then(async () => {
      const { header, problem } = await this.headerReader.finish();
      return {
        tempPath: this.tempPath,
        fileBytes: this.meta.length + this.datasetBytes,
        datasetBytes: this.datasetBytes,
        datasetSha256: this.hash.digest(),
        header,
        problem,
      };
    });
    return this.contents;
  }

  /** Takes a fragment of the dataset: hashed later (see HASH_BACKLOG_LIMIT), written with the next batch. */
  private add(chunk: Buffer): void {
    this.datasetBytes += chunk.length;
    this.headerReader.push(chunk);
    this.unhashed.push(chunk);
    this.unhashedBytes += chunk.length;
    if (this.unhashedBytes >= HASH_BACKLOG_LIMIT) this.hashUnhashed();
    this.unwritten.push(chunk);
    this.unwrittenBytes += chunk.length;
  }

  private hashUnhashed(): void {
    for (const chunk of this.unhashed) this.hash.update(chunk);
    this.unhashed = [];
    this.unhashedBytes = 0;
  }

  /** Writes the fragments taken so far in one writev in the threadpool, once at least `minBytes` wait. */
  private writeUnwritten(minBytes: number, callback: (error?: Error | null) => void): void {
    if (this.unwrittenBytes < minBytes) return callback();
    const buffers = this.unwritten;
    this.unwritten = [];
    this.unwrittenBytes = 0;
    this.io((done) => this.writeBuffers(buffers, (err) => (done(), callback(err))));
  }

  /** Writes every byte, looping over short writes (e.g. near a full disk). */
  private writeBuffers(buffers: Buffer[], callback: (error?: Error) => void): void {
    fs.writev(this.fd!, buffers, (err, written) => {
      if (err) return callback(new Error(`cannot write spool file ${this.tempPath}: ${err.message}`));
      while (buffers.length > 0 && written >= buffers[0].length) written -= buffers.shift()!.length;
      if (buffers.length === 0) return callback();
      buffers[0] = buffers[0].subarray(written);
      this.writeBuffers(buffers, callback);
    });
  }

  /** Runs one operation on the file; a destroy meanwhile closes it only after `done`. */
  private io(operation: (done: () => void) => void): void {
    this.ioRunning = true;
    operation(() => {
      this.ioRunning = false;
      const afterIo = this.afterIo;
      this.afterIo = undefined;
      afterIo?.();
    });
  }
}

/**
 * Moves a complete temp file to its place under the spool and makes the new directory entry durable.
 * `relativePath` uses '/' and names a file inside a one-level folder. When a file of that name is already there it
 * holds the same dataset bytes (the name carries their hash): it is left untouched (its folder fsynced) and the
 * temp file removed.
 * Resolves to true when this call put the file in place.
 */
export async function placeSpooledFile(spoolDir: string, tempPath: string, relativePath: string): Promise<boolean> {
  const finalPath = path.join(spoolDir, ...relativePath.split('/'));
  const folder = path.dirname(finalPath);
  if (fs.existsSync(finalPath)) {
    await fs.promises.unlink(tempPath);
    // Another store may have renamed it a moment ago and still be waiting for the folder's fsync: this answer
    // must not come before the name is durable.
    await fsyncDirectory(folder);
    return false;
  }
  if (!fs.existsSync(folder)) {
    await fs.promises.mkdir(folder, { recursive: true });
    await fsyncDirectory(spoolDir);
  }
  // A rename is a quick metadata change, done in place; the folder's fsync is what waits for the disk.
  fs.renameSync(tempPath, finalPath);
  // Success is answered only after this: an acknowledged file's name survives a power loss.
  await fsyncDirectory(folder);
  return true;
}
