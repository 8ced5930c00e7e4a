import { EntityId, type Grant, type RoleName, roleNames } from '@depotline/shared';
import { z } from 'zod';
import { createGrant, getGrant, listGrantsOfUser, revokeGrant } from '../../access/grants';
import { badRequest, notFound } from '../../errors';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, commaList, isoTime, optionalString, parseCliInput, parseExpiry, requiredString } from '../command';
import { requireUserByUsername } from './users';

const isRole = (r: string): r is RoleName => (roleNames as readonly string[]).includes(r);

export function grantStatus(g: Grant, now: number): 'active' | 'revoked' | 'expired' {
  if (g.revokedAt !== null) return 'revoked';
  if (g.expiresAt !== null && g.expiresAt <= now) return 'expired';
  return 'active';
}

const describeGrant = (g: Grant, username: string) =>
  `${g.id}\t${username}\t${g.role}\t${g.locationIds.join(',')}\texpires ${isoTime(g.expiresAt)}`;

const grantAdd: CliCommand = {
  group: 'grant',
  name: 'add',
  summary: 'Give a user a role at one or more locations',
  options: {
    user: { type: 'string', value: '<username>', description: 'Who gets access', required: true },
    role: { type: 'string', value: '<role>', description: `One of ${roleNames.join(', ')}`, required: true },
    locations: { type: 'string', value: '<id,id,...>', description: 'Comma-separated location ids', required: true },
    expires: { type: 'string', value: '<ISO date>', description: 'End of access: 2026-12-31 (end of that day, UTC) or 2026-12-31T18:00:00Z; required for contractor' },
  },
  notes: ['Example: depotline-admin grant add --user jdoe --role dispatcher --locations depot-north,depot-south'],
  prepare(values) {
    const username = requiredString(values, 'user');
    const role = requiredString(values, 'role').trim();
    if (!isRole(role)) throw badRequest([`--role: "${role}" is not a role; use one of ${roleNames.join(', ')}`]);
    const { locations: locationIds } = parseCliInput(
      z.object({ locations: z.array(EntityId).min(1, 'name at least one location id').max(500) }),
      { locations: commaList(requiredString(values, 'locations')) },
    );
    const expiresText = optionalString(values, 'expires');
    const expiresAt = expiresText === undefined ? null : parseExpiry(expiresText);
    return async (ctx) => {
      const user = await requireUserByUsername(ctx, username);
      const grant = await createGrant(ctx, { kind: 'operator', actor: operatorActor() }, { userId: user.id, role, locationIds, expiresAt });
      const mfa = ctx.config.mfaRequiredRoles.has(role) && user.totp_enrolled_at === null
        ? `\n${user.username} enrolls an authenticator app at next sign-in (required for ${role}).` : '';
      return {
        json: { grant: { ...grant, username: user.username } },
        text: `Granted ${role} at ${grant.locationIds.join(', ')} to ${user.username} (grant ${grant.id}, expires ${isoTime(grant.expiresAt)}).${mfa}`,
      };
    };
  },
};

const grantRevoke: CliCommand = {
  group: 'grant',
  name: 'revoke',
  summary: 'Revoke a grant; the user\u2019s devices drop those locations within a second',
  options: { id: { type: 'string', value: '<grant id>', description: 'From grant list', required: true } },
  prepare(values) {
    const id = requiredString(values, 'id').trim();
    return async (ctx) => {
      const before = await getGrant(ctx, id);
      if (!before) throw notFound(`The grant ${id}`);
      if (before.revokedAt !== null) {
        return { json: { grant: before, changed: false }, text: `Grant ${id} was already revoked; nothing changed.` };
      }
      await revokeGrant(ctx, { kind: 'operator', actor: operatorActor() }, id);
      const grant = (await getGrant(ctx, id))!;
      return { json: { grant, changed: true }, text: `Revoked grant ${id} (${grant.role} at ${grant.locationIds.join(', ')}).` };
    };
  },
};

const grantList: CliCommand = {
  group: 'grant',
  name: 'list',
  summary: 'List a user\u2019s grants, active and past',
  options: { user: { type: 'string', value: '<username>', description: 'Whose grants', required: true } },
  prepare(values) {
    const username = requiredString(values, 'user');
    return async (ctx) => {
      const user = await requireUserByUsername(ctx, username);
      const now = ctx.now();
      const grants = (await listGrantsOfUser(ctx, user.id)).map((g) => ({ ...g, status: grantStatus(g, now) }));
      const text = grants.length === 0 ? `${user.username} has no grants.` : grants.map((g) => `${describeGrant(g, user.username)}\t${g.status}`).join('\n');
      return { json: { user: { id: user.id, username: user.username }, grants }, text };
    };
  },
};

export const grantCommands = [grantAdd, grantRevoke, grantList];
