import { describe, expect, it } from 'vitest';
import {
  ApprovalRequest, FactorResetChange, groupChangeNeedsApproval, groupGrantNeedsApproval, isSensitivePermission, parseSensitiveChange, PrivilegedGrantChange,
  sensitiveActionKinds,
} from './approvals';
import { allPermissions } from './permissions';

const shape = (permissions: string[], locationIds = ['a'], denials: string[] = []) => ({ permissions, denials, locationIds, mfaRequired: true, mustExpire: false });

describe('approval contracts', () => {
  it('the catalogue lists each kind once, and a request names only a known kind', () => {
    expect(new Set(sensitiveActionKinds).size).toBe(sensitiveActionKinds.length);
    expect(sensitiveActionKinds).toEqual(expect.arrayContaining(['grant.privileged', 'group.sensitive', 'export.bulk', 'user.mfaDisable', 'user.factorsReset']));
    expect(ApprovalRequest.shape.kind.safeParse('grant.everything').success).toBe(false);
  });

  it('only admin and manager grants are privileged; a change carries nothing it does not declare', () => {
    expect(PrivilegedGrantChange.safeParse({ userId: 'u1', role: 'manager', locationIds: ['a'] }).success).toBe(true);
    expect(PrivilegedGrantChange.safeParse({ userId: 'u1', role: 'dispatcher', locationIds: ['a'] }).success).toBe(false);
    expect(parseSensitiveChange('user.mfaDisable', { userId: 'u1', extra: true }).success).toBe(false);
    expect(FactorResetChange.safeParse({ userId: 'u1', factors: ['totp', 'totp'] }).success).toBe(false);
    expect(FactorResetChange.safeParse({ userId: 'u1', factors: [] }).success).toBe(false);
  });

  it('a group grant is privileged with the group\u2019s version, never with a role as well', () => {
    expect(PrivilegedGrantChange.safeParse({ userId: 'u1', groupId: 'g1', groupVersion: 3, locationIds: ['a'] }).success).toBe(true);
    expect(PrivilegedGrantChange.safeParse({ userId: 'u1', groupId: 'g1', locationIds: ['a'] }).success).toBe(false);
    expect(PrivilegedGrantChange.safeParse({ userId: 'u1', role: 'admin', groupId: 'g1', groupVersion: 3, locationIds: ['a'] }).success).toBe(false);
  });

  it('one set of sensitive permissions decides both group changes and group grants', () => {
    expect(allPermissions.filter(isSensitivePermission).sort()).toEqual(
      ['approval.decide', 'audit.read', 'export.billing', 'export.customer', 'export.operational', 'grant.manage', 'group.manage', 'integration.manage', 'legalHold.manage', 'pod.delete', 'pod.export', 'privacy.manage', 'retention.manage'],
    );
    for (const p of allPermissions) {
      expect(groupGrantNeedsApproval({ permissions: ['location.read', p] })).toBe(isSensitivePermission(p));
      expect(groupChangeNeedsApproval(null, shape(['location.read', p]))).toBe(isSensitivePermission(p));
    }
  });

  it('creating or widening a group needs approval only when it then allows a sensitive permission', () => {
    expect(groupChangeNeedsApproval(null, shape(['location.read', 'audit.read']))).toBe(true);
    expect(groupChangeNeedsApproval(null, shape(['location.read', 'export.operational']))).toBe(true);
    expect(groupChangeNeedsApproval(null, shape(['location.read', 'stop.readPhone']))).toBe(false);
    // Widening a sensitive group in any way: a permission, a location, a denial removed.
    expect(groupChangeNeedsApproval(shape(['grant.manage']), shape(['grant.manage', 'location.read']))).toBe(true);
    expect(groupChangeNeedsApproval(shape(['audit.read']), shape(['audit.read'], ['a', 'b']))).toBe(true);
    expect(groupChangeNeedsApproval(shape(['audit.read'], ['a'], ['stop.readPhone']), shape(['audit.read']))).toBe(true);
    // Narrowing or renaming never does.
    expect(groupChangeNeedsApproval(shape(['grant.manage', 'audit.read']), shape(['audit.read']))).toBe(false);
    expect(groupChangeNeedsApproval(shape(['audit.read']), shape(['audit.read']))).toBe(false);
  });
});
