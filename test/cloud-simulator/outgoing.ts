// Spool-like files for transport tests: a synthetic CT series written as Part 10 files, described as the
// uploader hands them to a transport.
import fs from 'node:fs';
import path from 'node:path';
import type { OutgoingInstance } from '../../agent/upload/transport';
import { writeSyntheticCtSeries, type SyntheticCtOptions } from '../fixtures/synthetic-ct';

export function outgoingSeries(dir: string, options: SyntheticCtOptions): OutgoingInstance[] {
  const series = writeSyntheticCtSeries(dir, options);
  return series.files.map((filePath, i) => ({
    sopInstanceUid: series.sopInstanceUids[i],
    studyUid: series.studyInstanceUid,
    sopClassUid: series.sopClassUid,
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    spoolPath: path.join(series.studyInstanceUid, path.basename(filePath)),
    fileBytes: fs.statSync(filePath).size,
    datasetSha256: Buffer.alloc(32),
    attempts: 1,
    filePath,
  }));
}
