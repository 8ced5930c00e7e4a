import crypto from 'node:crypto';
import {
  decodeOrderFileText, EntityId, type GrantCreate, isFormula, parseCsv, type RoleName, roleNames, roleTemplates, type Sheet, Username,
} from '@depotline/shared';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import { applyGrantCreate } from '../access/grants';
import { findGroup, type GroupRecord } from '../access/group-records';
import { checkNewPassword, hashPassword } from '../auth/passwords';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { cleanDisplayName, insertUserIn } from '../users/users';
import { readExpiry } from './expiry';
import { generatePassword } from './generated-password';

/**
 * Bulk creation of accounts and their grants from a CSV file (`depotline-admin user import`).
 * All or nothing: every row is checked first (the file, then the database), and only a file
 * without a single problem is written, in one transaction. A half-imported file would leave the
 * administrator working out which of fifty people have accounts; a whole one can simply be
 * fixed and run again.
 */

/** The columns, as the header names them (case, spaces and hyphens do not matter). */
export const userImportColumns = ['username', 'display_name', 'role', 'group', 'locations', 'expires'] as const;
export type UserImportColumn = (typeof userImportColumns)[number];
const requiredColumns: readonly UserImportColumn[] = ['username', 'display_name'];

export const maxUserImportRows = 5_000;
export const maxUserImportBytes = 5 * 1024 * 1024;

/** One problem: the spreadsheet row (the header is row 1), the column when one is at fault, what is wrong. */
export interface UserImportProblem {
  row: number;
  /** A column of `userImportColumns`, or a header cell as written when that is what is wrong. */
  column: string | null;
  message: string;
}

export interface PlannedGrant {
  row: number;
  role: RoleName | null;
  group: { id: string; name: string } | null;
  locationIds: string[];
  expiresAt: number | null;
}

export interface PlannedUser {
  /** The row that creates the account; later rows of the same username add grants. */
  row: number;
  username: string;
  displayName: string;
  grants: PlannedGrant[];
}

export type UserImportPlan = { ok: true; users: PlannedUser[]; fileSha256: string } | { ok: false; problems: UserImportProblem[] };

const columnOf = (header: string) => header.trim().toLowerCase().replace(/[\s-]+/g, '_');
const isRole = (r: string): r is RoleName => (roleNames as readonly string[]).includes(r);
/** `a,b`, `a;b` or `a b`: a spreadsheet user separates a list however their locale does. */
const locationList = (cell: string) => cell.split(/[,;\s]+/).map((s) => s.trim()).filter((s) => s.length > 0);

/** The file as a header and rows: its encoding, its CSV grammar (RFC 4180) and its header checked. */
export function readUserImportFile(bytes: Uint8Array): { ok: true; sheet: Sheet; columns: UserImportColumn[] } | { ok: false; problems: UserImportProblem[] } {
  const fileProblem = (message: string) => ({ ok: false as const, problems: [{ row: 1, column: null, message }] });
  if (bytes.length > maxUserImportBytes) return fileProblem(`the file is larger than ${maxUserImportBytes / (1024 * 1024)} MB`);
  const decoded = decodeOrderFileText(bytes);
  if (!decoded.ok) return fileProblem(decoded.message);
  // A comma-separated file, as RFC 4180 defines it; lists inside a cell (locations) then cannot be cut apart by the separator.
  const parsed = parseCsv(decoded.text, { maxRows: maxUserImportRows, separator: ',' });
  if (!parsed.ok) {
    if (/more than/.test(parsed.message)) return fileProblem(`the file has more than ${maxUserImportRows} rows, the most one import takes; split it`);
    // The grammar's own message starts with the row where reading stopped.
    const at = /^Row (\d+): (.*)$/s.exec(parsed.message);
    return at ? { ok: false, problems: [{ row: Number(at[1]), column: null, message: at[2]! }] } : fileProblem(parsed.message);
  }
  const problems: UserImportProblem[] = [];
  const columns: UserImportColumn[] = [];
  parsed.sheet.header.forEach((h, i) => {
    const name = columnOf(h);
    if (!(userImportColumns as readonly string[]).includes(name)) {
      problems.push({ row: 1, column: h, message: `unknown column "${h}" (column ${i + 1}); the columns are ${userImportColumns.join(', ')}` });
    } else if (columns.includes(name as UserImportColumn)) {
      problems.push({ row: 1, column: name, message: `the column ${name} appears twice` });
    }
    columns.push(name as UserImportColumn);
  });
  for (const c of requiredColumns) if (!columns.includes(c)) problems.push({ row: 1, column: c, message: `the header has no ${c} column` });
  if (problems.length === 0 && parsed.sheet.rows.length === 0) problems.push({ row: 2, column: null, message: 'the file has a header but no rows' });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, sheet: parsed.sheet, columns };
}

interface RowDraft {
  row: number;
  username: string;
  displayName: string | null;
  role: RoleName | null;
  groupName: string | null;
  locationIds: string[];
  expiresAt: number | null;
}

/**
 * Checks every row against the file's own rules and then the database (usernames free, locations
 * and groups there, group scopes, expiries a role or group needs), reporting every problem found
 * rather than the first. Reads only.
 */
export async function planUserImport(ctx: ServerContext, bytes: Uint8Array): Promise<UserImportPlan> {
  const file = readUserImportFile(bytes);
  if (!file.ok) return file;
  const now = ctx.now();
  const problems: UserImportProblem[] = [];
  const drafts: RowDraft[] = [];
  for (const { row, cells } of file.sheet.rows) {
    const problem = (column: UserImportColumn | null, message: string) => problems.push({ row, column, message });
    if (cells.length !== file.columns.length) {
      problem(null, `has ${cells.length} cells, the header ${file.columns.length} (a missing or extra comma, or an unquoted comma inside a cell)`);
      continue;
    }
    const cell = (c: UserImportColumn) => {
      const i = file.columns.indexOf(c);
      return i < 0 ? '' : cells[i]!.trim();
    };
    let bad = false;
    for (const c of file.columns) {
      if (isFormula(cell(c))) {
        problem(c, 'holds a formula; nothing in the file is calculated: put the value itself in the cell');
        bad = true;
      }
    }
    if (bad) continue;
    const username = Username.safeParse(cell('username').toLowerCase());
    if (cell('username') === '') problem('username', 'is empty');
    else if (!username.success) problem('username', `"${cell('username')}": ${username.error.issues[0]?.message ?? 'not a username'}`);
    const displayText = cell('display_name');
    const displayName = displayText === '' ? null : cleanDisplayName(displayText);
    if (displayText !== '' && displayName === null) problem('display_name', 'is longer than 200 characters');
    const roleText = cell('role');
    const groupName = cell('group') === '' ? null : cell('group');
    if (roleText !== '' && !isRole(roleText)) problem('role', `"${roleText}" is not a role; use one of ${roleNames.join(', ')}`);
    if (roleText !== '' && groupName !== null) problem('group', 'give a role or a group in one row, not both (use a second row for the second grant)');
    const grants = roleText !== '' || groupName !== null;
    const locationIds = [...new Set(locationList(cell('locations')))];
    for (const id of locationIds) if (!EntityId.safeParse(id).success) problem('locations', `"${id}" is not a location id`);
    if (grants && locationIds.length === 0) problem('locations', 'is empty: a role or group is granted at one or more locations');
    if (!grants && locationIds.length > 0) problem('locations', 'names locations but the row has no role or group to grant there');
    let expiresAt: number | null = null;
    if (cell('expires') !== '') {
      const read = readExpiry(cell('expires'));
      if (!read.ok) problem('expires', read.message);
      else if (read.at <= now) problem('expires', `${new Date(read.at).toISOString()} is in the past`);
      else expiresAt = read.at;
      if (!grants) problem('expires', 'gives an expiry but the row has no role or group to grant');
    }
    if (isRole(roleText) && roleTemplates[roleText].mustExpire && cell('expires') === '') problem('expires', `is empty: ${roleText} grants must expire`);
    drafts.push({
      row, username: username.success ? username.data : '', displayName, role: isRole(roleText) ? roleText : null, groupName,
      locationIds, expiresAt,
    });
  }

  // Rows of one username: the first creates the account (and names the person), later ones add grants.
  const users = new Map<string, PlannedUser>();
  for (const d of drafts) {
    if (d.username === '') continue;
    const first = users.get(d.username);
    if (!first) {
      if (d.displayName === null) problems.push({ row: d.row, column: 'display_name', message: `is empty; the first row of ${d.username} names the person` });
      users.set(d.username, { row: d.row, username: d.username, displayName: d.displayName ?? '', grants: [] });
    } else if (d.displayName !== null && d.displayName !== first.displayName) {
      problems.push({ row: d.row, column: 'display_name', message: `"${d.displayName}" differs from row ${first.row} ("${first.displayName}") for ${d.username}; leave it empty or repeat it` });
    }
  }

  const taken = await ctx.db.selectFrom('users').select('username').where('username', 'in', [...users.keys(), '']).execute();
  for (const t of taken) {
    problems.push({ row: users.get(t.username)!.row, column: 'username', message: `${t.username} already has an account; an import only creates new ones (add grants with depotline-admin grant add)` });
  }
  const named = [...new Set(drafts.flatMap((d) => d.locationIds))].filter((id) => EntityId.safeParse(id).success);
  const known = new Set((await ctx.db.selectFrom('locations').select('id').where('id', 'in', [...named, '']).execute()).map((l) => l.id));
  const groups = new Map<string, GroupRecord | null>();
  for (const name of new Set(drafts.flatMap((d) => (d.groupName === null ? [] : [d.groupName])))) groups.set(name, await findGroup(ctx.db, { name }));

  for (const d of drafts) {
    const problem = (column: UserImportColumn, message: string) => problems.push({ row: d.row, column, message });
    const unknown = d.locationIds.filter((id) => EntityId.safeParse(id).success && !known.has(id));
    if (unknown.length > 0) problem('locations', `no location ${unknown.join(', ')} (depotline-admin location list shows them)`);
    let group: GroupRecord | null = null;
    if (d.groupName !== null) {
      group = groups.get(d.groupName) ?? null;
      if (!group) problem('group', `no permission group "${d.groupName}" (depotline-admin group list shows them)`);
      else if (group.retiredAt !== null) problem('group', `the group "${group.name}" is retired`);
      else {
        const outside = d.locationIds.filter((l) => !group!.locationIds.includes(l));
        if (outside.length > 0) problem('locations', `the group "${group.name}" may not be granted at ${outside.join(', ')} (outside its scope)`);
        if (group.mustExpire && d.expiresAt === null && !problems.some((p) => p.row === d.row && p.column === 'expires')) {
          problem('expires', `is empty: grants of the group "${group.name}" must expire`);
        }
      }
    }
    const user = d.username === '' ? undefined : users.get(d.username);
    if (!user || (d.role === null && group === null)) continue;
    const what = d.role ?? `group ${group!.name}`;
    const earlier = user.grants.find((g) => (g.role ?? `group ${g.group!.name}`) === what && g.locationIds.some((l) => d.locationIds.includes(l)));
    if (earlier) {
      const both = d.locationIds.filter((l) => earlier.locationIds.includes(l));
      problem(d.role !== null ? 'role' : 'group', `row ${earlier.row} already grants ${what} at ${both.join(', ')} to ${d.username}`);
      continue;
    }
    user.grants.push({ row: d.row, role: d.role, group: group && { id: group.id, name: group.name }, locationIds: d.locationIds, expiresAt: d.expiresAt });
  }

  if (problems.length > 0) {
    problems.sort((a, b) => a.row - b.row || userImportColumns.indexOf(a.column as UserImportColumn) - userImportColumns.indexOf(b.column as UserImportColumn));
    return { ok: false, problems };
  }
  return { ok: true, users: [...users.values()], fileSha256: crypto.createHash('sha256').update(bytes).digest('hex') };
}

export interface ImportedUser {
  id: string;
  username: string;
  displayName: string;
  grants: { id: string; role: RoleName | null; groupName: string | null; locationIds: string[]; expiresAt: number | null }[];
}

/** A generated password that passes the same checks a chosen one must (it cannot contain the username). */
function passwordFor(user: PlannedUser): string {
  for (;;) {
    const password = generatePassword();
    try {
      checkNewPassword(password, { username: user.username, displayName: user.displayName });
      return password;
    } catch {
      // About one in a million for a three-letter username: draw again.
    }
  }
}

/**
 * Writes a checked plan: each account with a generated one-time password (changed at the first
 * sign-in, as after `user reset-password`, so the passwords file is worthless once each person
 * has signed in) (hashed before the transaction,
 * two at a time, so the database is not held for the minutes fifty argon2id hashes take), its
 * grants, and one `user.import` audit entry with the file's SHA-256, all in one transaction. The
 * grants are checked again inside it (access/grants.ts), so a location deleted or a username
 * taken since the plan rolls everything back. `beforeCommit` gets the passwords while the
 * transaction is still open: the caller stores them durably first, so no account can exist whose
 * password was never written down.
 */
export async function applyUserImport(
  ctx: ServerContext, actor: AuditActor, plan: Extract<UserImportPlan, { ok: true }>, fileName: string,
  beforeCommit: (passwords: readonly { username: string; displayName: string; password: string }[]) => void,
): Promise<ImportedUser[]> {
  const passwords = plan.users.map((u) => ({ username: u.username, displayName: u.displayName, password: passwordFor(u) }));
  const hashes: string[] = new Array<string>(passwords.length);
  let next = 0;
  const hashWorker = async () => {
    while (next < passwords.length) {
      const i = next++;
      hashes[i] = await hashPassword(passwords[i]!.password);
    }
  };
  await Promise.all([hashWorker(), hashWorker()]);
  return ctx.db.transaction().execute(async (trx: Db) => {
    const now = ctx.now();
    const imported: ImportedUser[] = [];
    for (const [i, u] of plan.users.entries()) {
      const id = crypto.randomUUID();
      await insertUserIn(trx, actor, { id, username: u.username, displayName: u.displayName, passwordHash: hashes[i]!, mustChangePassword: true }, now, { via: 'import', row: u.row });
      const grants: ImportedUser['grants'] = [];
      for (const g of u.grants) {
        const input: GrantCreate = { userId: id, ...(g.group ? { groupId: g.group.id } : { role: g.role! }), locationIds: g.locationIds, expiresAt: g.expiresAt };
        const made = await applyGrantCreate(trx, { kind: 'operator', actor }, input, now);
        grants.push({ id: made.id, role: made.role, groupName: made.groupName, locationIds: made.locationIds, expiresAt: made.expiresAt });
      }
      imported.push({ id, username: u.username, displayName: u.displayName, grants });
    }
    await appendAudit(trx, actor, {
      action: 'user.import', outcome: 'ok', targetType: 'import', targetId: plan.fileSha256,
      details: { file: fileName, sha256: plan.fileSha256, users: imported.length, grants: imported.reduce((n, u) => n + u.grants.length, 0) },
    }, now);
    beforeCommit(passwords);
    return imported;
  });
}
