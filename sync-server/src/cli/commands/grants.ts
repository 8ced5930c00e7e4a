import { EntityId, type Grant, type RoleName, roleNames } from '@depotline/shared';
import { z } from 'zod';
import { groupRequiresMfa } from '../../access/authority';
import { findGroup } from '../../access/group-records';
import { getGrant, listGrantsOfUser, revokeGrant } from '../../access/grants';
import { badRequest, notFound } from '../../errors';
import { operatorActor } from '../../provisioning/operator';
import { grantAsOperator, listGrantsAtLocation } from '../../provisioning/operator-grants';
import { requireLocation } from '../../provisioning/locations';
import { type CliCommand, commaList, isoTime, optionalString, parseCliInput, parseExpiry, requiredString, UsageError } from '../command';
import { requireUserByUsername } from './users';

const isRole = (r: string): r is RoleName => (roleNames as readonly string[]).includes(r);

export function grantStatus(g: Grant, now: number): 'active' | 'revoked' | 'expired' {
  if (g.revokedAt !== null) return 'revoked';
  if (g.expiresAt !== null && g.expiresAt <= now) return 'expired';
  return 'active';
}

/** What a grant hands out: its role, or `group:<name>`. */
export const grantNames = (g: Grant) => g.role ?? `group:${g.groupName ?? g.groupId}`;

const describeGrant = (g: Grant, username: string) =>
  `${g.id}\t${username}\t${grantNames(g)}\t${g.locationIds.join(',')}\texpires ${isoTime(g.expiresAt)}`;

const grantAdd: CliCommand = {
  group: 'grant',
  name: 'add',
  summary: 'Give a user a role or a permission group at one or more locations',
  options: {
    user: { type: 'string', value: '<username>', description: 'Who gets access', required: true },
    role: { type: 'string', value: '<role>', description: `One of ${roleNames.join(', ')} (or --group)` },
    group: { type: 'string', value: '<name>', description: 'A permission group (group list), instead of --role' },
    locations: { type: 'string', value: '<id,id,...>', description: 'Comma-separated location ids', required: true },
    expires: { type: 'string', value: '<ISO date>', description: 'End of access: 2026-12-31 (end of that day, UTC) or 2026-12-31T18:00:00Z; required for contractor' },
  },
  notes: [
    'Example: depotline-admin grant add --user jdoe --role dispatcher --locations depot-north,depot-south',
    'Example: depotline-admin grant add --user jdoe --group no-phones --locations depot-north',
  ],
  prepare(values) {
    const username = requiredString(values, 'user');
    const role = optionalString(values, 'role')?.trim();
    const groupName = optionalString(values, 'group')?.trim();
    if ((role === undefined) === (groupName === undefined)) throw badRequest(['name exactly one of --role and --group']);
    if (role !== undefined && !isRole(role)) throw badRequest([`--role: "${role}" is not a role; use one of ${roleNames.join(', ')}`]);
    const { locations: locationIds } = parseCliInput(
      z.object({ locations: z.array(EntityId).min(1, 'name at least one location id').max(500) }),
      { locations: commaList(requiredString(values, 'locations')) },
    );
    const expiresText = optionalString(values, 'expires');
    const expiresAt = expiresText === undefined ? null : parseExpiry(expiresText);
    return async (ctx) => {
      const user = await requireUserByUsername(ctx, username);
      const group = groupName === undefined ? null : await findGroup(ctx.db, { name: groupName });
      if (groupName !== undefined && !group) throw notFound(`The group ${groupName}`);
      const grant = await grantAsOperator(ctx, operatorActor(), user.username, {
        userId: user.id, ...(group ? { groupId: group.id } : { role }), locationIds, expiresAt,
      });
      const needsMfa = group
        ? groupRequiresMfa({ permissions: new Set(group.permissions), mfaRequired: group.mfaRequired }, ctx.config.mfaRequiredRoles)
        : ctx.config.mfaRequiredRoles.has(role!);
      const mfa = needsMfa && user.totp_enrolled_at === null
        ? `\n${user.username} enrolls an authenticator app at next sign-in (required for ${grantNames(grant)}).` : '';
      return {
        json: { grant: { ...grant, username: user.username } },
        text: `Granted ${grantNames(grant)} at ${grant.locationIds.join(', ')} to ${user.username} (grant ${grant.id}, expires ${isoTime(grant.expiresAt)}).${mfa}`,
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
      const before = await getGrant(ctx.db, id);
      if (!before) throw notFound(`The grant ${id}`);
      if (before.revokedAt !== null) {
        return { json: { grant: before, changed: false }, text: `Grant ${id} was already revoked; nothing changed.` };
      }
      await revokeGrant(ctx, { kind: 'operator', actor: operatorActor() }, id);
      const grant = (await getGrant(ctx.db, id))!;
      return { json: { grant, changed: true }, text: `Revoked grant ${id} (${grantNames(grant)} at ${grant.locationIds.join(', ')}).` };
    };
  },
};

const grantList: CliCommand = {
  group: 'grant',
  name: 'list',
  summary: 'List the grants of a user (--user) or at a location (--location), active and past',
  options: {
    user: { type: 'string', value: '<username>', description: 'Whose grants' },
    location: { type: 'string', value: '<id>', description: 'Every grant naming this location' },
  },
  notes: ['Example: depotline-admin grant list --location depot-north'],
  prepare(values) {
    const username = optionalString(values, 'user');
    const location = optionalString(values, 'location');
    if ((username === undefined) === (location === undefined)) throw new UsageError('Give exactly one of --user or --location.');
    const locationId = location === undefined ? undefined : parseCliInput(z.object({ location: EntityId }), { location: location.trim() }).location;
    return async (ctx) => {
      const now = ctx.now();
      if (locationId !== undefined) {
        await requireLocation(ctx.db, locationId);
        const grants = (await listGrantsAtLocation(ctx.db, locationId)).map((g) => ({ ...g, status: grantStatus(g, now) }));
        const text = grants.length === 0 ? `No grants name ${locationId}.` : grants.map((g) => `${describeGrant(g, g.username)}\t${g.status}`).join('\n');
        return { json: { locationId, grants }, text };
      }
      const user = await requireUserByUsername(ctx, username!);
      const grants = (await listGrantsOfUser(ctx.db, user.id)).map((g) => ({ ...g, status: grantStatus(g, now) }));
      const text = grants.length === 0 ? `${user.username} has no grants.` : grants.map((g) => `${describeGrant(g, user.username)}\t${g.status}`).join('\n');
      return { json: { user: { id: user.id, username: user.username }, grants }, text };
    };
  },
};

export const grantCommands = [grantAdd, grantRevoke, grantList];
