import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ExportFormat } from '@depotline/shared';
import { ConsoleError } from './console-error';

/** What the save dialog proposes. */
export interface SaveSuggestion {
  fileName: string;
  /** `zip`: a stop's sealed proof-of-delivery bundle. */
  format: ExportFormat | 'zip';
}

/**
 * Asks the user where to save a file; null when they closed the dialog. In Electron this is the
 * native save dialog (main/electron/main.ts); where there is none it is not set, and the console
 * cannot export.
 */
export type ChooseSavePath = (suggestion: SaveSuggestion) => Promise<string | null>;

/** `Harbour Depot`, `2026-03-01`, `2026-03-31`, `csv` -> `harbour-depot-stops-2026-03-01-to-2026-03-31.csv`. */
export function exportFileName(depotName: string | null, from: string, to: string, format: ExportFormat): string {
  const depot = (depotName ?? 'depot').normalize('NFKD').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'depot';
  return `${depot}-stops-${from}-to-${to}.${format}`;
}

/**
 * Writes the file where the user chose: first beside it under a name of its own, then renamed
 * over, so a failure half-way leaves no half file with the chosen name. The file is readable by
 * its owner only: an export can hold customer data.
 */
export async function writeExport(target: string, bytes: Uint8Array): Promise<void> {
  if (!path.isAbsolute(target)) throw new ConsoleError('bad_request', 'The file could not be saved: choose a folder on this computer.');
  const part = path.join(path.dirname(target), `.${path.basename(target)}.${crypto.randomBytes(6).toString('hex')}.part`);
  try {
    await fs.writeFile(part, bytes, { mode: 0o600, flag: 'wx' });
    await fs.rename(part, target);
  } catch (err) {
    await fs.rm(part, { force: true }).catch(() => undefined);
    throw new ConsoleError('bad_request', `The file could not be saved there (${reasonOf(err)}). Nothing was written; choose another folder and export again.`);
  }
}

function reasonOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'you may not write to that folder';
    case 'ENOENT':
    case 'ENOTDIR':
      return 'the folder does not exist';
    case 'ENOSPC':
      return 'the disk is full';
    case 'EROFS':
      return 'the disk is read-only';
    case 'EISDIR':
      return 'a folder has that name';
    case undefined:
    default:
      return 'the system refused it';
  }
}
