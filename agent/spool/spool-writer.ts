import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { buildFileMetaHeader, type FileMetaFields } from './file-meta';
import { DatasetHeaderReader, type DatasetHeader } from './dataset-header';
import { fsyncDirectory } from './fsync-directory';

/** Temp files of instances still arriving; anything here at startup was never acknowledged. */
export const INCOMING_DIR = '.incoming';

/** A complete, fsynced temp file, not yet in its place and not yet indexed. */
export interface SpooledInstance {
  tempPath: string;
  fileBytes: number;
  datasetBytes: number;
  datasetSha256: Buffer;
  header: DatasetHeader;
  /** Set when the dataset's structure could not be read; such an instance must be refused. */
  problem?: string;
}

/**
 * Streams one instance to a temp file as its P-DATA fragments arrive: our file meta header, then the dataset
 * bytes exactly as sent. It hashes the dataset and reads the indexed attributes on the way; it never holds the
 * dataset. Ending the stream fsyncs and closes the file; destroying it removes the temp file.
 */
export class SpoolWriter extends Writable {
  readonly tempPath: string;
  private fd: number | undefined;
  private readonly hash = crypto.createHash('sha256');
  private readonly headerReader: DatasetHeaderReader;
  private readonly meta: Buffer;
  private datasetBytes = 0;
  private completed = false;

  constructor(spoolDir: string, fields: FileMetaFields) {
    super({ highWaterMark: 1024 * 1024 });
    this.tempPath = path.join(spoolDir, INCOMING_DIR, `${crypto.randomUUID()}.part`);
    this.meta = buildFileMetaHeader(fields);
    this.headerReader = new DatasetHeaderReader(fields.transferSyntaxUid);
  }

  override _construct(callback: (error?: Error | null) => void): void {
    fs.open(this.tempPath, 'w', 0o640, (err, fd) => {
      if (err) return callback(new Error(`cannot create spool file ${this.tempPath}: ${err.message}`));
      this.fd = fd;
      this.writeAll([this.meta], callback);
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.take(chunk);
    this.writeAll([chunk], callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    const buffers = chunks.map(({ chunk }) => chunk);
    for (const buffer of buffers) this.take(buffer);
    this.writeAll(buffers, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    fs.fsync(this.fd!, (syncErr) => {
      fs.close(this.fd!, (closeErr) => {
        this.fd = undefined;
        const err = syncErr ?? closeErr;
        if (err) return callback(new Error(`cannot flush spool file ${this.tempPath} to disk: ${err.message}`));
        this.completed = true;
        callback();
      });
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const fd = this.fd;
    this.fd = undefined;
    const cleanUp = () => (this.completed ? callback(error) : fs.unlink(this.tempPath, () => callback(error)));
    if (fd === undefined) cleanUp();
    else fs.close(fd, cleanUp);
  }

  /** After the stream has finished: what was written, with the dataset's hash and indexed attributes. */
  async spooled(): Promise<SpooledInstance> {
    if (!this.completed) throw new Error(`spool file ${this.tempPath} is not complete`);
    const { header, problem } = await this.headerReader.finish();
    return {
      tempPath: this.tempPath,
      fileBytes: this.meta.length + this.datasetBytes,
      datasetBytes: this.datasetBytes,
      datasetSha256: this.hash.digest(),
      header,
      problem,
    };
  }

  private take(chunk: Buffer): void {
    this.datasetBytes += chunk.length;
    this.hash.update(chunk);
    this.headerReader.push(chunk);
  }

  private writeAll(buffers: Buffer[], callback: (error?: Error | null) => void): void {
    fs.writev(this.fd!, buffers, (err, written) => {
      if (err) return callback(new Error(`cannot write spool file ${this.tempPath}: ${err.message}`));
      const total = buffers.reduce((sum, b) => sum + b.length, 0);
      if (written === total) return callback();
      // Short write (rare, e.g. near a full disk): write the rest.
      const rest = Buffer.concat(buffers).subarray(written);
      this.writeAll([rest], callback);
    });
  }
}

/**
 * Moves a complete temp file to its place under the spool and makes the new directory entries durable.
 * `relativePath` uses '/' and names a file inside a one-level folder. When a file of that name is already
 * there it holds the same dataset bytes (the name carries their hash): it is left untouched and the temp file
 * removed. Resolves to true when this call put the file in place.
 */
export async function placeSpooledFile(spoolDir: string, tempPath: string, relativePath: string): Promise<boolean> {
  const finalPath = path.join(spoolDir, ...relativePath.split('/'));
  const folder = path.dirname(finalPath);
  if (fs.existsSync(finalPath)) {
    await fs.promises.unlink(tempPath);
    return false;
  }
  if (!fs.existsSync(folder)) {
    await fs.promises.mkdir(folder, { recursive: true });
    await fsyncDirectory(spoolDir);
  }
  await fs.promises.rename(tempPath, finalPath);
  await fsyncDirectory(folder);
  return true;
}
