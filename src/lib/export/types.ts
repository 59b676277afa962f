import type { ExportFormatInfo, ExportOutcome } from '../../contracts/export';
export type { ExportFormatInfo, ExportOutcome };
