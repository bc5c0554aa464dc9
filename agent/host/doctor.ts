// `gateway doctor`: is this computer fit to run the gateway? Runs the DicomGateway module's checks
// (checkThisPc) through the PowerShell bridge and prints them as a table or as JSON.
import fs from 'node:fs';
import { loadConfig } from '../config/config';
import { defaultConfigPath } from '../config/paths';
import { checkThisPc, type CheckResult, type ThisPcReport } from './powershell-bridge';

export const EXIT_POWERSHELL_NOT_AVAILABLE = 4;

export interface DoctorOptions {
  /** The DICOM port, when the caller has already read the configuration. */
  port?: number;
  /** The data folder, when the caller has already read the configuration. */
  dataPath?: string;
}

/** Runs `gateway doctor` (its options parsed by the CLI); resolves to the exit code: 0, 1 a check failed, 4 no PowerShell. */
export async function doctorCommand(values: { config?: string; json?: boolean }, options: DoctorOptions = {}): Promise<number> {
  let { port, dataPath } = options;
  if (port === undefined && dataPath === undefined) {
    const file = values.config ?? defaultConfigPath();
    if (values.config !== undefined || fs.existsSync(file)) {
      try {
        const config = loadConfig(file);
        port = config.port;
        dataPath = config.dataDir;
      } catch (err) {
        console.error(`gateway doctor: ${(err as Error).message}`);
        return 1;
      }
    }
  }

  const report = await checkThisPc({ port, dataPath });
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
  } else if (!report.available) {
    console.error(`gateway doctor: ${report.message}`);
  } else {
    console.log(formatReport(report));
  }
  if (!report.available) return EXIT_POWERSHELL_NOT_AVAILABLE;
  return report.results.some((result) => result.Status === 'Fail') ? 1 : 0;
}

/** The results as a table (Name, Status, Detail) and a count per status. */
export function formatReport(report: ThisPcReport): string {
  const rows: string[][] = [['Name', 'Status', 'Detail'], ...report.results.map((r: CheckResult) => [r.Name, r.Status, r.Detail])];
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row: string[]) => `${row[0].padEnd(widths[0])}  ${row[1].padEnd(widths[1])}  ${row[2]}`.trimEnd();
  const counts = ['Pass', 'Warn', 'Fail', 'NotApplicable'].map((status) => `${report.results.filter((r) => r.Status === status).length} ${status}`);
  return [
    line(rows[0]),
    line(widths.map((w) => '-'.repeat(w)).concat('------')),
    ...rows.slice(1).map(line),
    '',
    `${report.results.length} check${report.results.length === 1 ? '' : 's'}: ${counts.join(', ')}`,
  ].join('\n');
}
