import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config';
import { createLogger, type ServerContext } from '../context';
import { KeyError } from '../crypto/key-material';
import { MigrationError } from '../db/migrate';
import { AppError } from '../errors';
import { withheldReportsSettled } from '../sync/withheld-stops';
import {
  type CliCommand, type CliIo, type CliValues, type CommandResult, commonFieldFlags, exitCodes, type PreparedCommand, RowProblems, UsageError,
} from './command';
import { approvalCommands } from './commands/approvals';
import { auditCommands } from './commands/audit';
import { databaseCommands } from './commands/database';
import { demoCommands } from './commands/demo';
import { deviceCommands } from './commands/device';
import { exportCommands } from './commands/exports';
import { fleetCommands } from './commands/fleet';
import { grantCommands } from './commands/grants';
import { groupCommands } from './commands/groups';
import { importCommands } from './commands/import';
import { integrationCredentialCommands } from './commands/integration-keys';
import { integrationLogCommands } from './commands/integration-logs';
import { integrationCommands } from './commands/integrations';
import { keyCommands } from './commands/keys';
import { locationCommands } from './commands/locations';
import { podCommands } from './commands/pod';
import { customerPrivacyCommands } from './commands/privacy';
import { privacyRequestCommands } from './commands/privacy-requests';
import { retentionCommands } from './commands/retention';
import { retentionPurgeCommands } from './commands/retention-purge';
import { securityCommands } from './commands/security';
import { userCommands } from './commands/users';
import { webhookCommands } from './commands/webhooks';
import { InstallationMissing, requireInstallation } from './installation';

export const programName = 'depotline-admin';

export const commands: readonly CliCommand[] = [
  ...locationCommands, ...userCommands, ...grantCommands, ...groupCommands, ...approvalCommands, ...fleetCommands, ...importCommands, ...demoCommands, ...auditCommands, ...securityCommands, ...keyCommands, ...exportCommands, ...databaseCommands,
  ...integrationCredentialCommands,
  ...integrationCommands, ...integrationLogCommands,
  ...webhookCommands,
  ...podCommands,
  ...privacyRequestCommands,
  ...customerPrivacyCommands,
  ...retentionCommands,
  ...retentionPurgeCommands,
  ...deviceCommands,
];

const globalOptions = {
  json: { type: 'boolean', description: 'Print machine-readable JSON (errors as {"error":{...}} on stderr)' },
  help: { type: 'boolean', description: 'Show help' },
} as const;

/**
 * Runs one admin command and returns its exit status. The database is opened only after the
 * command line is fully checked, and always closed again; nothing here calls process.exit, so
 * buffered output is never lost.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  const [group, name] = argv;
  const inGroup = commands.filter((c) => c.group === group);
  // A name may be two words (`integration key create`): its words follow the group's.
  const command = inGroup.find((c) => c.name === argv.slice(1, 1 + c.name.split(' ').length).join(' '));

  if (!command) {
    if (inGroup.length > 0) {
      if (wantsHelp) return printHelp(io, groupHelp(group!, inGroup), json);
      const problem = name === undefined ? `"${group}" needs a command` : `Unknown command "${group} ${name}"`;
      return fail(io, json, exitCodes.usage, 'usage', `${problem}: ${inGroup.map((c) => `${c.group} ${c.name}`).join(', ')}.`);
    }
    if (wantsHelp || argv.length === 0) return printHelp(io, mainHelp(), json, argv.length === 0 ? exitCodes.usage : exitCodes.ok);
    return fail(io, json, exitCodes.usage, 'usage', `Unknown command "${group}". Run ${programName} --help for the commands.`);
  }
  if (wantsHelp) return printHelp(io, commandHelp(command), json);

  let values: CliValues;
  try {
    values = parseCommandLine(command, argv.slice(1 + command.name.split(' ').length));
  } catch (err) {
    return fail(io, json, exitCodes.usage, 'usage', `${messageOf(err)}\nRun ${programName} ${command.group} ${command.name} --help for its options.`);
  }

  let prepared: PreparedCommand;
  try {
    const outcome = await command.prepare(values, io);
    // A check made offline (`pod verify-bundle`): done without opening the database.
    if (typeof outcome !== 'function') {
      print(io, json, outcome.done);
      return outcome.done.exitCode ?? exitCodes.ok;
    }
    prepared = outcome;
  } catch (err) {
    return reportError(io, json, err, command);
  }

  let ctx: ServerContext | null = null;
  try {
    ctx = await openContext(io, command);
    const result = await prepared(ctx);
    print(io, json, result);
    return result.exitCode ?? exitCodes.ok;
  } catch (err) {
    return reportError(io, json, err, command);
  } finally {
    if (ctx) {
      // A command that read a stop whose data does not decrypt (an export) reports it before the database closes.
      await withheldReportsSettled(ctx);
      await ctx.db.destroy();
    }
  }
}

function parseCommandLine(command: CliCommand, args: string[]): CliValues {
  const options: NonNullable<ParseArgsConfig['options']> = { ...globalOptions };
  for (const [key, spec] of Object.entries(command.options)) options[key] = { type: spec.type };
  const positional = Object.entries(command.options).find(([, spec]) => spec.positional)?.[0];
  const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: positional !== undefined });
  if (positional !== undefined && positionals.length > 0) {
    if (positionals.length > 1 || values[positional] !== undefined) throw new UsageError(`Give --${positional} once, as an option or as the one bare argument.`);
    values[positional] = positionals[0];
  }
  for (const [key, spec] of Object.entries(command.options)) {
    if (spec.required && values[key] === undefined) throw new UsageError(`--${key} is required.`);
  }
  return values as CliValues;
}

/** The same database and keys as the server: the same environment variables, read the same way. */
async function openContext(io: CliIo, command: CliCommand): Promise<ServerContext> {
  const config = loadConfig(io.env);
  // A mistyped data directory is refused, not turned into a new installation (installation.ts).
  if (!command.initializesDatabase) await requireInstallation(config, io.env);
  // Loaded only now: the server module pulls in Express and Socket.IO, which help and
  // command-line errors never need.
  const { createContext } = await import('../server');
  // Errors only, on stderr: stdout carries the command's output (and JSON must stay parseable).
  return createContext(config, createLogger(config.logLevel === 'silent' ? 'silent' : 'error'));
}

function print(io: CliIo, json: boolean, result: CommandResult): void {
  const stream = result.output === 'stderr' ? io.stderr : io.stdout;
  if (json) {
    if (result.json !== undefined) stream.write(JSON.stringify(result.json, isoTimes, 2) + '\n');
  } else {
    stream.write(result.text + '\n');
  }
}

function reportError(io: CliIo, json: boolean, err: unknown, command: CliCommand): number {
  if (err instanceof RowProblems) {
    const rows = err.problems.map((p) => ({ row: p.row, column: p.column, message: p.message }));
    const lines = rows.map((p) => `row ${p.row}${p.column === null ? '' : `, ${p.column}`}: ${p.message}`);
    return fail(io, json, exitCodes.failed, 'invalid_rows', err.message, lines, { rows });
  }
  if (err instanceof UsageError) {
    return fail(io, json, exitCodes.usage, 'usage', `${err.message}\nRun ${programName} ${command.group} ${command.name} --help for its options.`);
  }
  if (err instanceof AppError) {
    // The REST wording ("the request does not match its schema") means nothing on a command line.
    const message = err.code === 'bad_request' ? 'Invalid input:' : err.message;
    return fail(io, json, exitCodes.failed, err.code, message, err.extra.issues?.map((issue) => flagNamed(issue, command)));
  }
  if (err instanceof ConfigError || err instanceof KeyError || err instanceof MigrationError || err instanceof InstallationMissing) {
    return fail(io, json, exitCodes.failed, 'config', err.message);
  }
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ENOTFOUND' || e?.code === '28P01' || e?.code === '3D000') {
    return fail(io, json, exitCodes.failed, 'database', `Cannot open the database: ${e.message}`);
  }
  // Unexpected: the full error for the operator on the server host, who is allowed to see it.
  return fail(io, json, exitCodes.failed, 'internal', `Unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
}

function fail(io: CliIo, json: boolean, exitCode: number, code: string, message: string, issues?: readonly string[], extra: Record<string, unknown> = {}): number {
  if (json) {
    io.stderr.write(JSON.stringify({ error: { code, message, ...(issues && issues.length > 0 ? { issues } : {}), ...extra } }) + '\n');
  } else {
    const details = issues && issues.length > 0 ? `\n${issues.map((i) => `  ${i}`).join('\n')}` : '';
    io.stderr.write(`${programName}: ${message}${details}\n`);
  }
  return exitCode;
}

/** `expiresAt: must be in the future` -> `--expires: must be in the future`, when the command has that flag. */
export function flagNamed(issue: string, command: CliCommand): string {
  const m = /^([A-Za-z][A-Za-z0-9]*)((?:\.[^:\s]+)*): /.exec(issue);
  if (!m) return issue;
  const field = m[1]!;
  const flag = command.fieldFlags?.[field] ?? commonFieldFlags[field] ?? field;
  if (!(flag in command.options)) return issue;
  return `--${flag}${m[2]}: ${issue.slice(m[0].length)}`;
}

/**
 * Times in `--json` output as ISO 8601 (`2026-12-31T23:59:59.999Z`), like the text output: the
 * services keep milliseconds since the epoch, and every such field is named `...At` (or one of
 * a few names). Numbers only: a field already a string stays as it is.
 */
const timeFields = new Set(['at', 'eta', 'since', 'until', 'deviceTime', 'serverTime', 'failingSince']);
export function isoTimes(key: string, value: unknown): unknown {
  if (typeof value !== 'number' || !Number.isFinite(value) || !(key.endsWith('At') || timeFields.has(key))) return value;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString();
}

function messageOf(err: unknown): string {
  if (err instanceof UsageError) return err.message;
  // parseArgs errors (ERR_PARSE_ARGS_*) carry a readable message.
  return err instanceof Error ? err.message : String(err);
}

/* ---------------------------------------------------------------------------------- help */

function printHelp(io: CliIo, text: string, json: boolean, exitCode: number = exitCodes.ok): number {
  const stream = exitCode === exitCodes.ok ? io.stdout : io.stderr;
  stream.write(json ? JSON.stringify({ help: text }) + '\n' : text + '\n');
  return exitCode;
}

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => `${c.group} ${c.name}`.length));
  return [
    `Usage: ${programName} <command> [options] [--json]`,
    '',
    'Provisioning for the Depotline sync server. It uses the same database and keys as the',
    'server, from the same environment variables (DATABASE_URL, DEPOTLINE_DATA_DIR, DEPOTLINE_SQLITE_FILE,',
    'DEPOTLINE_FIELD_KEY_FILE, ...). Every change is written to the audit log as cli:<your OS user>.',
    'It works on an existing installation only: a data directory or database that is not there is refused,',
    'not created (db migrate sets up a new one). Times are ISO 8601, in text and in --json.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${`${c.group} ${c.name}`.padEnd(width)}  ${c.summary}`),
    '',
    'Options for every command:',
    ...optionLines(globalOptions),
    '',
    'Exit status: 0 ok, 1 bad input or refused, 2 wrong command line, 3 audit chain broken.',
    `Run ${programName} <command> --help for a command's options.`,
  ].join('\n');
}

function groupHelp(group: string, inGroup: readonly CliCommand[]): string {
  return [
    `Usage: ${programName} ${group} <${inGroup.map((c) => c.name).join('|')}> [options]`,
    '',
    ...inGroup.map((c) => `  ${group} ${c.name.padEnd(8)}  ${c.summary}`),
    '',
    `Run ${programName} ${group} <command> --help for its options.`,
  ].join('\n');
}

function commandHelp(c: CliCommand): string {
  const required = Object.entries(c.options).filter(([, o]) => o.required).map(([k, o]) => `--${k} ${o.value ?? ''}`.trim());
  return [
    ['Usage:', programName, c.group, c.name, ...required, ...(Object.values(c.options).some((o) => !o.required) ? ['[options]'] : []), '[--json]'].join(' '),
    '',
    c.summary + '.',
    '',
    'Options:',
    ...optionLines({ ...c.options, ...globalOptions }),
    ...(c.notes && c.notes.length > 0 ? ['', ...c.notes] : []),
  ].join('\n');
}

function optionLines(options: Readonly<Record<string, { description: string; value?: string; required?: boolean }>>): string[] {
  const entries = Object.entries(options).map(([k, o]) => [`--${k}${o.value ? ` ${o.value}` : ''}`, `${o.description}${o.required ? ' (required)' : ''}`] as const);
  const width = Math.max(0, ...entries.map(([flag]) => flag.length));
  return entries.map(([flag, desc]) => `  ${flag.padEnd(width)}  ${desc}`);
}
