import fs from 'node:fs';
import path from 'node:path';
import { badRequest } from '../../errors';
import { operatorActor } from '../../provisioning/operator';
import {
  applyUserImport, type ImportedUser, maxUserImportBytes, maxUserImportRows, type PlannedUser, planUserImport, readUserImportFile, userImportColumns,
} from '../../provisioning/user-import';
import { type CliCommand, isoTime, optionalString, requiredString, RowProblems, UsageError } from '../command';

/** A cell of the passwords file, quoted as RFC 4180 asks when it must be. */
const csvCell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

type GrantView = { role: string | null; groupName: string | null; locationIds: string[]; expiresAt: number | null };
const grantText = (g: GrantView) =>
  `${g.role ?? `group ${g.groupName}`} at ${g.locationIds.join(',')}${g.expiresAt === null ? '' : ` until ${isoTime(g.expiresAt)}`}`;
const userLine = (u: { username: string; displayName: string; grants: readonly GrantView[] }) =>
  `  ${u.username}\t${u.displayName}\t${u.grants.length === 0 ? 'no access yet' : u.grants.map(grantText).join('; ')}`;
const plannedView = (u: PlannedUser) => ({
  row: u.row, username: u.username, displayName: u.displayName,
  grants: u.grants.map((g) => ({ row: g.row, role: g.role, groupName: g.group?.name ?? null, locationIds: g.locationIds, expiresAt: g.expiresAt })),
});

/** Opens the passwords file for writing: created here or refused, never an existing file (O_EXCL), owner-only from the first byte. */
function createPasswordsFile(file: string): number {
  try {
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    // The umask can only take bits away from 0600, but say it outright.
    fs.fchmodSync(fd, 0o600);
    return fd;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw badRequest([`--passwords-out: ${file} already exists; it is never overwritten, choose a new file name`]);
    throw badRequest([`--passwords-out: cannot create ${file} (${code ?? 'error'})`]);
  }
}

const userImport: CliCommand = {
  group: 'user',
  name: 'import',
  summary: 'Create many users and their grants from a CSV file, all or nothing; passwords go to a 0600 file',
  options: {
    file: { type: 'string', value: '<file.csv>', description: 'The CSV file (UTF-8, comma-separated, a header row)', required: true, positional: true },
    'dry-run': { type: 'boolean', description: 'Check every row against the database and report; write nothing' },
    'passwords-out': { type: 'string', value: '<file>', description: 'Where the generated passwords go: a new file, mode 0600 (required unless --dry-run)' },
  },
  notes: [
    `Columns (header row, any order): ${userImportColumns.join(', ')}. username and display_name are required.`,
    '  username      lower-case letters, digits and . _ @ - (folded to lower case)',
    '  display_name  the person\u2019s name; on a second row of the same username leave it empty or repeat it',
    '  role          a role (admin, manager, dispatcher, driver, finance, reporting, contractor), or empty',
    '  group         a permission group\u2019s name instead of a role (one of the two per row)',
    '  locations     location ids, separated by commas (quote the cell), semicolons or spaces',
    '  expires       2026-12-31 (end of that day, UTC) or 2026-12-31T18:00:00Z; required for contractor',
    'One row per grant: repeat the username on another row for a second role or group. A row with neither',
    'creates the account without access. Usernames that already exist are refused (use grant add).',
    `At most ${maxUserImportRows} rows and ${maxUserImportBytes / (1024 * 1024)} MB. Any problem in any row: nothing is written, and every problem is listed`,
    'with its row (the header is row 1) and column. Passwords are never printed; --json lists users without them.',
    'Each generated password is one-time: the first sign-in with it must choose a new one (as after user reset-password).',
    'Example: depotline-admin user import --file desks.csv --dry-run',
    'Example: depotline-admin user import --file desks.csv --passwords-out /root/desk-passwords.csv',
  ],
  fieldFlags: { passwordsOut: 'passwords-out' },
  prepare(values) {
    const file = requiredString(values, 'file');
    const dryRun = values['dry-run'] === true;
    const out = optionalString(values, 'passwords-out');
    if (!dryRun && out === undefined) throw new UsageError('--passwords-out is required: generated passwords are written only to a new file (or check the file with --dry-run).');
    if (dryRun && out !== undefined) throw new UsageError('--dry-run creates no accounts and so no passwords: leave out --passwords-out.');
    let bytes: Buffer;
    try {
      const stat = fs.statSync(file);
      if (!stat.isFile()) throw badRequest([`--file: ${file} is not a file`]);
      if (stat.size > maxUserImportBytes) throw badRequest([`--file: ${file} is larger than ${maxUserImportBytes / (1024 * 1024)} MB`]);
      bytes = fs.readFileSync(file);
    } catch (err) {
      if (!(err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('E'))) throw err;
      throw badRequest([`--file: cannot read ${file} (${err.code})`]);
    }
    // The file's own shape is checked before the database is opened.
    const shape = readUserImportFile(bytes);
    if (!shape.ok) throw new RowProblems(`${file} cannot be imported; nothing was written:`, shape.problems);
    if (out !== undefined) {
      if (fs.existsSync(out)) throw badRequest([`--passwords-out: ${out} already exists; it is never overwritten, choose a new file name`]);
      if (!fs.existsSync(path.dirname(path.resolve(out)))) throw badRequest([`--passwords-out: the directory ${path.dirname(path.resolve(out))} does not exist`]);
    }
    return async (ctx) => {
      const plan = await planUserImport(ctx, bytes);
      if (!plan.ok) throw new RowProblems(`${file} cannot be imported; nothing was written:`, plan.problems);
      const grantCount = plan.users.reduce((n, u) => n + u.grants.length, 0);
      const mfaRoles = [...ctx.config.mfaRequiredRoles].sort();
      const mfaNote = mfaRoles.length > 0 ? [`Users with the role ${mfaRoles.join(', ')} enroll an authenticator app (TOTP) at first sign-in.`] : [];
      if (dryRun) {
        return {
          json: { dryRun: true, file, sha256: plan.fileSha256, users: plan.users.map(plannedView) },
          text: [
            `Dry run: ${file} is valid. It would create ${plan.users.length} user(s) and ${grantCount} grant(s). Nothing was written.`,
            ...plan.users.map((u) => userLine(plannedView(u))),
          ].join('\n'),
        };
      }
      const fd = createPasswordsFile(out!);
      let imported: ImportedUser[];
      try {
        imported = await applyUserImport(ctx, operatorActor(), plan, file, (passwords) => {
          const lines = ['username,display_name,password', ...passwords.map((p) => [p.username, p.displayName, p.password].map(csvCell).join(','))];
          fs.writeSync(fd, lines.join('\r\n') + '\r\n');
          // On disk before the accounts are committed: no account exists whose password was lost.
          fs.fsyncSync(fd);
        });
      } catch (err) {
        fs.closeSync(fd);
        fs.rmSync(out!, { force: true });
        throw err;
      }
      fs.closeSync(fd);
      return {
        json: { dryRun: false, file, sha256: plan.fileSha256, users: imported, passwordsFile: path.resolve(out!) },
        text: [
          `Imported ${imported.length} user(s) and ${grantCount} grant(s) from ${file}.`,
          ...imported.map(userLine),
          `Passwords: ${path.resolve(out!)} (mode 0600). Hand each one over separately from the username, then delete the file.`,
          'Each password works once: the first sign-in with it asks for a new password before anything else.',
          ...mfaNote,
        ].join('\n'),
      };
    };
  },
};

export const userImportCommands: readonly CliCommand[] = [userImport];
