import { describe, expect, it } from 'vitest';
import { GroupCreate, GroupUpdate, groupChangeWidens, type GroupShape } from './groups';
import { GrantCreate } from './api';

const shape = (over: Partial<GroupShape> = {}): GroupShape => ({
  permissions: ['location.read'], denials: ['stop.readPhone'], locationIds: ['a'], mfaRequired: true, mustExpire: false, ...over,
});

describe('group contracts', () => {
  it('names an unknown permission, refuses one both allowed and denied, and an empty group', () => {
    const unknown = GroupCreate.safeParse({ name: 'g', permissions: ['location.read', 'stop.teleport'], locationIds: ['a'] });
    expect(unknown.success).toBe(false);
    expect(unknown.error?.issues.map((i) => i.message)).toContain('unknown permission "stop.teleport" (see the permission catalogue)');
    expect(GroupCreate.safeParse({ name: 'g', permissions: ['stop.readPhone'], denials: ['stop.readPhone'], locationIds: ['a'] }).success).toBe(false);
    expect(GroupCreate.safeParse({ name: 'g', permissions: [], locationIds: ['a'] }).success).toBe(false);
    expect(GroupCreate.safeParse({ name: 'dispatcher', permissions: ['location.read'], locationIds: ['a'] }).success).toBe(false);
    expect(GroupCreate.parse({ name: 'no-phones', permissions: [], denials: ['stop.readPhone'], locationIds: ['a'] }))
      .toMatchObject({ description: '', mfaRequired: true, mustExpire: false });
    expect(GroupUpdate.safeParse({ denials: ['nope'] }).success).toBe(false);
  });

  it('a grant names exactly one of a role and a group', () => {
    expect(GrantCreate.safeParse({ userId: 'u', role: 'dispatcher', locationIds: ['a'] }).success).toBe(true);
    expect(GrantCreate.safeParse({ userId: 'u', groupId: 'g-1', locationIds: ['a'] }).success).toBe(true);
    expect(GrantCreate.safeParse({ userId: 'u', role: 'dispatcher', groupId: 'g-1', locationIds: ['a'] }).success).toBe(false);
    expect(GrantCreate.safeParse({ userId: 'u', locationIds: ['a'] }).success).toBe(false);
  });

  it('groupChangeWidens: added permissions, removed denials, wider scope, relaxed flags; narrowing is not widening', () => {
    expect(groupChangeWidens(shape(), shape()).widens).toBe(false);
    expect(groupChangeWidens(shape(), shape({ denials: ['stop.readPhone', 'stop.readNotes'], permissions: [] })).widens).toBe(false);
    expect(groupChangeWidens(shape(), shape({ permissions: ['location.read', 'audit.read'] }))).toMatchObject({ widens: true, addedPermissions: ['audit.read'] });
    expect(groupChangeWidens(shape(), shape({ denials: [] }))).toMatchObject({ widens: true, removedDenials: ['stop.readPhone'] });
    expect(groupChangeWidens(shape(), shape({ locationIds: ['a', 'b'] }))).toMatchObject({ widens: true, addedLocationIds: ['b'] });
    // A wider scope of a group that allows nothing only takes more away.
    expect(groupChangeWidens(shape({ permissions: [] }), shape({ permissions: [], locationIds: ['a', 'b'] })).widens).toBe(false);
    expect(groupChangeWidens(shape(), shape({ mfaRequired: false }))).toMatchObject({ widens: true, mfaRelaxed: true });
    expect(groupChangeWidens(shape({ mustExpire: true }), shape())).toMatchObject({ widens: true, expiryRelaxed: true });
    // Creating is the change from nothing; retiring the change to nothing (its denials go).
    expect(groupChangeWidens(null, shape())).toMatchObject({ widens: true, addedPermissions: ['location.read'] });
    expect(groupChangeWidens(shape(), null)).toMatchObject({ widens: true, removedDenials: ['stop.readPhone'] });
  });
});
