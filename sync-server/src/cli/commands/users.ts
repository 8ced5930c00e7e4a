import { Username } from '@depotline/shared';
import { resetPasswordByAdmin } from '../../auth/password-change';
import { checkNewPassword } from '../../auth/passwords';
import { findSession, listSessions, revokeAllSessionsOfUser, revokeSession } from '../../auth/sessions';
import type { ServerContext } from '../../context';
import { badRequest, notFound, zodIssues } from '../../errors';
import { generatePassword } from '../../provisioning/generated-password';
import { operatorActor } from '../../provisioning/operator';
import { createUser, disableUser, enableUser, findUserByUsername, renameUser, resetMfa, type UserRow } from '../../users/users';
import { userImportCommands } from './user-import';
import { type CliCommand, isoTime, optionalString, readStdin, requiredString, UsageError } from '../command';

const userOption = { type: 'string', value: '<username>', description: 'The user\u2019s username', required: true } as const;

export async function requireUserByUsername(ctx: ServerContext, username: string): Promise<UserRow> {
  const user = await findUserByUsername(ctx, username);
  if (!user) throw notFound(`The user ${username}`);
  return user;
}

const userCreate: CliCommand = {
  group: 'user',
  name: 'create',
  summary: 'Create a user account (no access until a grant is added)',
  options: {
    username: { type: 'string', value: '<username>', description: 'Lower-case letters, digits and . _ @ -', required: true },
    name: { type: 'string', value: '<display name>', description: 'The person\u2019s name as shown to colleagues', required: true },
    'password-stdin': { type: 'boolean', description: 'Read the password from stdin; otherwise a strong one is generated and printed once' },
  },
  notes: ['Example: depotline-admin user create --username jdoe --name "Jane Doe"'],
  async prepare(values, io) {
    const parsed = Username.safeParse(requiredString(values, 'username').trim().toLowerCase());
    if (!parsed.success) throw badRequest(zodIssues(parsed.error).map((l) => `--username${l.slice(l.indexOf(':'))}`));
    const username = parsed.data;
    const displayName = requiredString(values, 'name').trim();
    if (displayName.length === 0 || displayName.length > 200) throw badRequest(['--name: 1 to 200 characters']);
    const generated = values['password-stdin'] !== true;
    const password = generated ? generatePassword() : await readStdin(io.stdin);
    if (!generated && password.length === 0) throw badRequest(['stdin: no password given']);
    // Checked here too, so a weak password is refused before the database is opened.
    checkNewPassword(password, { username, displayName });
    return async (ctx) => {
      const user = await createUser(ctx, operatorActor(), { username, displayName, password });
      const lines = [`Created user ${user.username} (${user.displayName}), id ${user.id}.`];
      if (generated) lines.push(`Password (shown once, hand it over securely): ${password}`);
      lines.push(`No access yet: add a grant with depotline-admin grant add --user ${user.username} --role <role> --locations <ids>.`);
      const mfaRoles = [...ctx.config.mfaRequiredRoles].sort();
      if (mfaRoles.length > 0) lines.push(`Users with the role ${mfaRoles.join(', ')} enroll an authenticator app (TOTP) at first sign-in.`);
      return { json: { user, ...(generated ? { password } : {}) }, text: lines.join('\n') };
    };
  },
};

const userDisable: CliCommand = {
  group: 'user',
  name: 'disable',
  summary: 'Disable a user: sign-in refused, every session revoked at once',
  options: {
    user: userOption,
    reason: { type: 'string', value: '<text>', description: 'Why, for the audit log' },
  },
  prepare(values) {
    const username = requiredString(values, 'user');
    const reason = (optionalString(values, 'reason') ?? 'disabled by an administrator').slice(0, 500);
    return async (ctx) => {
      const user = await requireUserByUsername(ctx, username);
      if (user.disabled_at !== null) {
        return { json: { user: { id: user.id, username: user.username }, changed: false }, text: `User ${user.username} was already disabled; nothing changed.` };
      }
      await disableUser(ctx, operatorActor(), user.id, reason);
      return { json: { user: { id: user.id, username: user.username }, changed: true }, text: `Disabled user ${user.username}; their sessions were revoked.` };
    };
  },
};

const userRename: CliCommand = {
  group: 'user',
  name: 'rename',
  summary: 'Change a user\u2019s display name, or the username of an account that has never signed in',
  options: {
    user: userOption,
    name: { type: 'string', value: '<display name>', description: 'The new display name' },
    username: { type: 'string', value: '<username>', description: 'The new username (only for an account that has never signed in)' },
  },
  notes: [
    'Example: depotline-admin user rename --user jdoe --name "Jane Smith"',
    'The display name can always change. The username only until the account first signs in: every desktop keeps',
    'its offline profile, with edits not yet synced, under the username, and a new name would leave that profile behind.',
  ],
  fieldFlags: { displayName: 'name' },
  prepare(values) {
    const username = requiredString(values, 'user');
    const name = optionalString(values, 'name');
    const newUsername = optionalString(values, 'username');
    if (name === undefined && newUsername === undefined) throw new UsageError('Give --name, --username or both.');
    if (name !== undefined && (name.trim().length === 0 || name.trim().length > 200)) throw badRequest(['--name: 1 to 200 characters']);
    if (newUsername !== undefined) {
      const parsed = Username.safeParse(newUsername.trim().toLowerCase());
      if (!parsed.success) throw badRequest(zodIssues(parsed.error).map((l) => `--username${l.slice(l.indexOf(':'))}`));
    }
    return async (ctx) => {
      const before = await requireUserByUsername(ctx, username);
      const { user, changed } = await renameUser(ctx, operatorActor(), before.id, {
        ...(name === undefined ? {} : { displayName: name }), ...(newUsername === undefined ? {} : { username: newUsername }),
      });
      const parts = [
        ...(changed.includes('username') ? [`username ${before.username} -> ${user.username}`] : []),
        ...(changed.includes('displayName') ? [`display name "${before.display_name}" -> "${user.display_name}"`] : []),
      ];
      return {
        json: { user: { id: user.id, username: user.username, displayName: user.display_name }, changed },
        text: parts.length === 0 ? `${user.username} already has that name; nothing changed.` : `Renamed ${before.username}: ${parts.join(', ')}.`,
      };
    };
  },
};

const userEnable: CliCommand = {
  group: 'user',
  name: 'enable',
  summary: 'Re-enable a disabled or locked-out user',
  options: { user: userOption },
  prepare(values) {
    const username = requiredString(values, 'user');
    return async (ctx) => {
      const user = await requireUserByUsername(ctx, username);
      await enableUser(ctx, operatorActor(), user.id);
      return { json: { user: { id: user.id, username: user.username } }, text: `User ${user.username} can sign in again.` };
    };
  },
};

const userResetPassword: CliCommand = {
  group: 'user',
  name: 'reset-password',
  summary: 'Give a user a one-time password that must be changed at next sign-in; ends their sessions',
  options: {
    user: userOption,
    'keep-sessions': { type: 'boolean', description: 'Leave the user\u2019s open sessions running (default: end them all)' },
  },
  notes: [
    'Example: depotline-admin user reset-password --user jdoe',
    'The generated password is printed once. At the next sign-in with it (and the second factor, if any),',
    'no session is opened until the user chooses a new password. The user is notified (alert password_reset).',
  ],
  prepare(values) {
    const username = requiredString(values, 'user');
    const keepSessions = values['keep-sessions'] === true;
    return async (ctx) => {
      const user = await requireUserByUsername(ctx, username);
      const password = generatePassword();
      const { sessionsEnded } = await resetPasswordByAdmin(ctx, operatorActor(), user.id, password, { keepSessions });
      const lines = [
        `Reset the password of ${user.username}.`,
        `One-time password (shown once, hand it over securely): ${password}`,
        `It must be changed at the next sign-in; no session is opened before that.`,
        keepSessions ? 'Their open sessions were kept.' : `Ended ${sessionsEnded} open session(s).`,
      ];
      if (user.disabled_at !== null) lines.push(`Note: ${user.username} is disabled; enable them with depotline-admin user enable --user ${user.username}.`);
      return { json: { user: { id: user.id, username: user.username }, password, mustChangePassword: true, sessionsEnded }, text: lines.join('\n') };
    };
  },
};

const userList: CliCommand = {
  group: 'user',
  name: 'list',
  summary: 'List users',
  options: {},
  prepare() {
    return async (ctx) => {
      const rows = await ctx.db.selectFrom('users')
        .select(['id', 'username', 'display_name', 'totp_enrolled_at', 'disabled_at', 'locked_until', 'created_at'])
        .orderBy('username').execute();
      const now = ctx.now();
      const users = rows.map((r) => ({
        id: r.id, username: r.username, displayName: r.display_name, mfaEnrolled: r.totp_enrolled_at !== null,
        disabled: r.disabled_at !== null, locked: r.locked_until !== null && r.locked_until > now, createdAt: r.created_at,
      }));
      const text = users.length === 0 ? 'No users yet.' : users.map((u) =>
        `${u.username}\t${u.displayName}\t${u.disabled ? 'disabled' : u.locked ? 'locked' : 'active'}\tmfa ${u.mfaEnrolled ? 'enrolled' : 'not enrolled'}`).join('\n');
      return { json: { users }, text };
    };
  },
};

const mfaReset: CliCommand = {
  group: 'mfa',
  name: 'reset',
  summary: 'Remove a user\u2019s authenticator; they enroll a new one at next sign-in',
  options: { user: userOption },
  prepare(values) {
    const username = requiredString(values, 'user');
    return async (ctx) => {
      const user = await requireUserByUsername(ctx, username);
      await resetMfa(ctx, operatorActor(), user.id);
      return {
        json: { user: { id: user.id, username: user.username }, wasEnrolled: user.totp_enrolled_at !== null },
        text: `Reset MFA for ${user.username}${user.totp_enrolled_at === null ? ' (none was enrolled)' : ''}; a new authenticator is enrolled at next sign-in.`,
      };
    };
  },
};

const sessionRevoke: CliCommand = {
  group: 'session',
  name: 'revoke',
  summary: 'Revoke one session (--id) or every session of a user (--user); devices are cut off within a second',
  options: {
    id: { type: 'string', value: '<session id>', description: 'One session' },
    user: { type: 'string', value: '<username>', description: 'Every open session of this user' },
  },
  prepare(values) {
    const id = optionalString(values, 'id');
    const username = optionalString(values, 'user');
    if ((id === undefined) === (username === undefined)) throw new UsageError('Give exactly one of --id or --user.');
    return async (ctx) => {
      const actor = operatorActor();
      if (username !== undefined) {
        const user = await requireUserByUsername(ctx, username);
        const count = await revokeAllSessionsOfUser(ctx, actor, user.id, 'revoked_by_admin');
        return { json: { user: { id: user.id, username: user.username }, revoked: count }, text: `Revoked ${count} session(s) of ${user.username}.` };
      }
      const session = await findSession(ctx, id!);
      if (!session) throw notFound(`The session ${id}`);
      const changed = await revokeSession(ctx, actor, session.id, 'revoked_by_admin');
      return {
        json: { session: { id: session.id, userId: session.userId }, revoked: changed ? 1 : 0 },
        text: changed ? `Revoked session ${session.id}.` : `Session ${session.id} was already revoked; nothing changed.`,
      };
    };
  },
};

const sessionList: CliCommand = {
  group: 'session',
  name: 'list',
  summary: 'List a user\u2019s open sessions',
  options: { user: userOption },
  prepare(values) {
    const username = requiredString(values, 'user');
    return async (ctx) => {
      const user = await requireUserByUsername(ctx, username);
      const sessions = (await listSessions(ctx, user.id, null)).map(({ current: _current, ...s }) => s);
      const text = sessions.length === 0 ? `${user.username} has no open sessions.` : sessions.map((s) =>
        `${s.id}\t${s.deviceName ?? s.deviceId}\t${s.ip ?? '-'}\tlast seen ${isoTime(s.lastSeenAt)}\tends ${isoTime(s.expiresAt)}`).join('\n');
      return { json: { sessions }, text };
    };
  },
};

export const userCommands = [userCreate, ...userImportCommands, userRename, userDisable, userEnable, userResetPassword, userList, mfaReset, sessionRevoke, sessionList];
