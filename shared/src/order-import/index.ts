/**
 * Importing orders from a CSV or XLSX file (docs/architecture.md, "Importing orders"): the file
 * read as a sheet, its columns mapped to order fields, every row checked, and a plan of what
 * the import creates, updates and skips, turned into the same mutations a dispatcher's edits are.
 * Pure: the console's main process and the server's CLI run the same code.
 */
import { decodeOrderFileText } from './text-encoding';
import { parseCsv, type SheetResult } from './csv';

export { decodeOrderFileText, type DecodedText } from './text-encoding';
export { detectSeparator, parseCsv, tooManyRows, type CsvSeparator, type Sheet, type SheetResult, type SheetRow } from './csv';
export {
  billingImportFields, ColumnMapping, ImportField, importFields, importFieldSpecs, mappingProblems, requiredImportFields, suggestColumnMapping,
} from './columns';
export { isFormula } from './cells';
export { sheetFromCellRows, xlsxCellText } from './xlsx-cells';
export { depotDateOf, depotTimeToEpoch, zoneOffsetAt } from './depot-time';
export {
  importProblems, validateOrderRows, type ImportedOrder, type ImportOptions, type RowProblem, type ValidatedFile, type ValidatedRow,
} from './validate';
export {
  importMutations, inBatches, planImport, type ImportAction, type ImportContext, type ImportMutation, type ImportPlan, type MutationIds, type PlannedRow, type PlannedWork,
} from './plan';

/** The most orders one import takes; a longer file is refused whole, before any row is checked. */
export const maxImportRows = 20_000;

/** The largest order file read (CSV or XLSX), in bytes: far above 20,000 orders, far below a memory problem. */
export const maxImportFileBytes = 32 * 1024 * 1024;

/** Mutations queued (or, by the CLI, applied) per transaction. */
export const importBatchSize = 500;

/** A CSV file's bytes as a sheet: the encoding checked first, then the rows, up to `maxRows`. */
export function readCsvOrderFile(bytes: Uint8Array, maxRows: number = maxImportRows): SheetResult {
  const decoded = decodeOrderFileText(bytes);
  if (!decoded.ok) return { ok: false, message: decoded.message };
  return parseCsv(decoded.text, { maxRows });
}
