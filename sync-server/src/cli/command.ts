import type { Readable, Writable } from 'node:stream';
import type { z } from 'zod';
import type { ServerContext } from '../context';
import { badRequest } from '../errors';

/** Exit codes: scripts branch on them, so they never change meaning. */
export const exitCodes = {
  ok: 0,
  /** Bad input or a refused operation (unknown user, weak password, duplicate id...). */
  failed: 1,
  /** The command line itself is wrong: unknown command or option, missing option. */
  usage: 2,
  /** `audit verify` / `audit export`: the audit chain is broken; `pod verify-bundle`: the bundle is not intact. */
  auditBroken: 3,
} as const;

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
}

/** The command line is malformed: exit 2 with the command's usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** Shown in `--help`; the value's name after the option, e.g. `<username>`. */
  value?: string;
  description: string;
  required?: boolean;
  /** The option may be given as the command's one bare argument instead (`pod verify-bundle <zip>`). */
  positional?: boolean;
}

/** Option values as parseArgs returns them (no `multiple` options are used). */
export type CliValues = Readonly<Record<string, string | boolean | undefined>>;

export interface CommandResult {
  /** What `--json` prints, as one JSON document; undefined prints nothing. */
  json: unknown;
  /** What a person sees without `--json`. */
  text: string;
  exitCode?: number;
  /** stderr when stdout already carries the command's data (an export to stdout). */
  output?: 'stdout' | 'stderr';
}

/** A command whose arguments have been checked and which is ready to run against the database. */
export type PreparedCommand = (ctx: ServerContext) => Promise<CommandResult>;

/** What `prepare` returns for a command that did its whole work offline: the database is never opened. */
export interface DoneOffline {
  done: CommandResult;
}

export interface CliCommand {
  group: string;
  name: string;
  summary: string;
  options: Readonly<Record<string, OptionSpec>>;
  /** Extra lines for `--help`: examples, exit codes. */
  notes?: readonly string[];
  /**
   * Checks and converts the arguments *before* the database is opened, so a wrong command
   * line never creates files or writes rows. May read stdin (`--password-stdin`).
   */
  prepare(values: CliValues, io: CliIo): PreparedCommand | DoneOffline | Promise<PreparedCommand | DoneOffline>;
}

export function requiredString(values: CliValues, name: string): string {
  const v = values[name];
  if (typeof v !== 'string') throw new UsageError(`--${name} is required.`);
  return v;
}

export function optionalString(values: CliValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A non-negative integer option; a value that is not one is bad input (exit 1). */
export function optionalInteger(values: CliValues, name: string): number | undefined {
  const v = optionalString(values, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,15}$/.test(v.trim())) throw badRequest([`--${name}: expected a whole number, got "${v}"`]);
  return Number(v.trim());
}

/** `a,b , c` -> `['a','b','c']`; empty items are dropped. */
export function commaList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * `--expires`: a full ISO 8601 time with a zone (`2026-12-31T18:00:00Z`, `...+01:00`) is taken
 * as given; a date alone (`2026-12-31`) means the end of that day in UTC, so access lasts
 * through the day named. A time without a zone is ambiguous and refused.
 */
export function parseExpiry(value: string): number {
  const text = value.trim();
  const dateOnly = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (dateOnly) {
    const [y, m, d] = [Number(dateOnly[1]), Number(dateOnly[2]), Number(dateOnly[3])];
    const start = Date.UTC(y, m - 1, d);
    const check = new Date(start);
    if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) {
      throw badRequest([`--expires: ${text} is not a calendar date`]);
    }
    return start + 86_400_000 - 1;
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    throw badRequest([`--expires: use an ISO 8601 date (2026-12-31) or a time with a zone (2026-12-31T18:00:00Z), got "${value}"`]);
  }
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw badRequest([`--expires: ${text} is not a valid time`]);
  return at;
}

/** Reads all of stdin as UTF-8, without the one trailing newline `echo` or a file adds. */
export async function readStdin(stdin: Readable, maxBytes = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
    size += buf.length;
    if (size > maxBytes) throw badRequest([`stdin: more than ${maxBytes} bytes`]);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export const isoTime = (ms: number | null) => (ms === null ? 'never' : new Date(ms).toISOString());

/**
 * Parses a command's input with the service's schema, naming the command-line option in
 * each problem (`--location: ...`) rather than the schema field (`locationId: ...`).
 */
export function parseCliInput<S extends z.ZodType>(schema: S, input: Record<string, unknown>, flagOf: Readonly<Record<string, string>> = {}): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw badRequest(parsed.error.issues.slice(0, 20).map((issue) => {
    const [field, ...rest] = issue.path.map(String);
    const flag = field === undefined ? '(input)' : `--${flagOf[field] ?? field}`;
    return `${[flag, ...rest].join('.')}: ${issue.message}`;
  }));
}
