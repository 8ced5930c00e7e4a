import type { Readable, Writable } from 'node:stream';
import type { z } from 'zod';
import type { ServerContext } from '../context';
import { badRequest } from '../errors';
import { readExpiry } from '../provisioning/expiry';

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

/**
 * Rows of an input file that are wrong (`user import`): each with its row and column, all of
 * them at once, so the file is fixed in one go. Exit 1; `--json` lists them under `error.rows`.
 */
export class RowProblems extends Error {
  override name = 'RowProblems';
  constructor(message: string, readonly problems: readonly { row: number; column: string | null; message: string }[]) {
    super(message);
  }
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
   * The command may create the database and the data directory (`db migrate`). Every other
   * command refuses to run where there is no installation yet (cli/installation.ts).
   */
  initializesDatabase?: boolean;
  /**
   * Service field names (`expiresAt`) and the flag that sets each (`expires`), for problems the
   * service reports after the command line was checked; run.ts also knows the common ones.
   */
  fieldFlags?: Readonly<Record<string, string>>;
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
 * A date or time option (`--expires` by default): see `readExpiry`. A bad value is bad input
 * naming the flag the user typed.
 */
export function parseExpiry(value: string, flag = 'expires'): number {
  const read = readExpiry(value);
  if (!read.ok) throw badRequest([`--${flag}: ${read.message}`]);
  return read.at;
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
 * Service field names and the flags that set them where the two differ: a problem about
 * `expiresAt` is shown as one about `--expires`. Commands add their own (`CliCommand.fieldFlags`).
 */
export const commonFieldFlags: Readonly<Record<string, string>> = {
  expiresAt: 'expires', locationIds: 'locations', locationId: 'location', displayName: 'name', userId: 'user', groupId: 'group',
  oldEndsAt: 'old-ends', previousSecretEndsAt: 'old-ends', receivedAt: 'received', stopId: 'stop', holdId: 'id',
};

/** In a `flagOf` map: the field came from stdin (JSON), not from a flag. */
export const fromStdin = 'stdin';

/**
 * Parses a command's input with the service's schema, naming the command-line option in
 * each problem (`--location: ...`) rather than the schema field (`locationId: ...`), or `stdin`
 * for what was read from stdin. `flagOf` maps a field to its flag (or to `fromStdin`); the
 * common names are mapped anyway. `{ '*': fromStdin }` says the whole input came from stdin.
 */
export function parseCliInput<S extends z.ZodType>(schema: S, input: Record<string, unknown>, flagOf: Readonly<Record<string, string>> = {}): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw badRequest(parsed.error.issues.slice(0, 20).map((issue) => {
    const path = issue.path.map(String);
    if (flagOf['*'] === fromStdin) return `${[fromStdin, ...path].join('.')}: ${issue.message}`;
    const [field, ...rest] = path;
    if (field === undefined) return `(input): ${issue.message}`;
    const flag = flagOf[field] ?? commonFieldFlags[field] ?? field;
    return `${[flag === fromStdin ? fromStdin : `--${flag}`, ...rest].join('.')}: ${issue.message}`;
  }));
}
