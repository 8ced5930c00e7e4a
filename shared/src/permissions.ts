import type { RedactableStopField, Stop } from './domain';

/**
 * The permission catalogue: one list that the server enforces and the console uses to hide
 * what a user cannot do. Every permission is scoped to the locations of the grant that
 * carries it (docs/security-model.md). Deny by default: what is not granted is refused.
 */
export const permissionCatalogue = {
  'location.read': 'See the depot, its routes, drivers and vehicles, and stop status and time windows',
  'stop.readCustomer': 'See customer names and addresses on stops',
  'stop.readPhone': 'See customer phone numbers and email addresses',
  'stop.readNotes': 'See delivery notes',
  'stop.readBilling': 'See billing data on stops (payment reference, amount to collect, delivery fee) and set it',
  'stop.setStatus': 'Change a stop status (within the stop state machine)',
  'stop.editNotes': 'Edit delivery notes',
  'stop.edit': 'Create stops and edit their customer details, time window and order',
  'route.edit': 'Create routes and assign drivers and vehicles',
  'fleet.manage': 'Create, edit and retire the location\u2019s drivers and vehicles',
  'position.read': 'See live driver positions',
  'position.report': 'Report the position of the driver signed in',
  'audit.read': 'Read the audit log of the location',
  'grant.manage': 'Grant and revoke access at the location',
  'session.revokeAny': 'List and revoke other users\u2019 sessions',
  'security.read': 'See sign-in alerts, devices and held sign-ins of users at the location',
  'group.manage': 'Define custom permission groups and see who holds what at the location',
  'approval.decide': 'Approve or deny sensitive changes other people request at the location',
  'export.operational': 'Export routes and stops (status, times, order data) of the location',
  'export.customer': 'Include customer contact fields (name, address, phone, notes) in exports',
  'export.billing': 'Include billing data (payment reference, amounts) in exports; needs stop.readBilling as well',
  'integration.manage': 'Register outside systems (integrations) at the location, set their scopes, data profile and address allowlist, suspend them',
  'tracking.manage': 'Create and revoke customer tracking links of stops at the location',
  'pod.capture': 'Record proof of delivery (photos, signatures, scans, GPS stamps) on stops',
  'pod.view': 'See proof of delivery: its photos, signatures and GPS stamps (each file view is audited)',
  'pod.export': 'Export a stop\u2019s proof of delivery as a sealed dispute bundle',
  'pod.annotate': 'Annotate and redact proof of delivery (for example blur a face), the original kept sealed',
  'pod.delete': 'Request the deletion of proof of delivery (destroys its key; needs a second person\u2019s approval)',
  'retention.manage': 'Set how long the location keeps customer and delivery data (widening needs a second person\u2019s approval)',
  'legalHold.manage': 'Place legal holds that suspend purge and erasure at the location, and ask for their release (a second person approves)',
  'privacy.manage': 'Find a customer\u2019s data and handle their privacy requests (access, erasure, rectification, consent) at the location',
  // Machine permissions: held only by integrations, through their scopes (never by a role or a group).
  'orders.write': 'Integrations: create and update orders (stops) at the location',
  'orders.read': 'Integrations: read orders at the location, as far as the integration\u2019s data profile allows',
  'status.read': 'Integrations: read the status and history of orders at the location',
  'pod.read': 'Integrations: read proof of delivery of orders at the location',
} as const;

export type Permission = keyof typeof permissionCatalogue;
export const allPermissions = Object.keys(permissionCatalogue) as Permission[];

/**
 * Permissions only integrations hold (their scopes, docs/security-model.md "Integrations"). No
 * role template holds one, and groups and grants refuse them: a person acts through the console,
 * never with a partner's rights.
 */
export const machinePermissions = ['orders.write', 'orders.read', 'status.read', 'pod.read'] as const satisfies readonly Permission[];
export type MachinePermission = (typeof machinePermissions)[number];

export function isMachinePermission(p: string): p is MachinePermission {
  return (machinePermissions as readonly string[]).includes(p);
}

/** Every permission a person can hold (through a role template or a group). */
export const userPermissions: readonly Permission[] = allPermissions.filter((p) => !isMachinePermission(p));

/**
 * Permissions that only ever act on the holder's own data (a driver reports their own
 * position, records the proof they captured). Granting them gives no power over anyone else, so a manager may hand out the
 * driver role without holding these.
 */
export const selfOnlyPermissions: readonly Permission[] = ['position.report', 'pod.capture'];

export const roleNames = ['admin', 'manager', 'dispatcher', 'driver', 'finance', 'reporting', 'contractor'] as const;
export type RoleName = (typeof roleNames)[number];

export interface RoleTemplate {
  readonly permissions: readonly Permission[];
  /** Whether users holding this role must sign in with a second factor (default policy). */
  readonly mfaRequired: boolean;
  /** Grants of this role must carry an expiry (temporary access). */
  readonly mustExpire: boolean;
  /** Members see only stops on routes assigned to them as a driver. */
  readonly assignedRoutesOnly: boolean;
  /** Roles this role may hand out with `grant.manage`; no role can grant more than itself. */
  readonly mayGrant: readonly RoleName[];
}

export const roleTemplates: Readonly<Record<RoleName, RoleTemplate>> = {
  admin: {
    permissions: userPermissions,
    mfaRequired: true,
    mustExpire: false,
    assignedRoutesOnly: false,
    mayGrant: ['admin', 'manager', 'dispatcher', 'driver', 'finance', 'reporting', 'contractor'],
  },
  manager: {
    permissions: [
      'location.read', 'stop.readCustomer', 'stop.readPhone', 'stop.readNotes', 'stop.readBilling', 'stop.setStatus',
      'stop.editNotes', 'stop.edit', 'route.edit', 'position.read', 'audit.read', 'grant.manage',
      'approval.decide', 'export.operational', 'export.customer', 'export.billing', 'fleet.manage',
      'tracking.manage', 'pod.view', 'pod.export', 'pod.annotate',
    ],
    mfaRequired: true,
    mustExpire: false,
    assignedRoutesOnly: false,
    mayGrant: ['dispatcher', 'driver', 'finance', 'reporting', 'contractor'],
  },
  dispatcher: {
    permissions: [
      'location.read', 'stop.readCustomer', 'stop.readPhone', 'stop.readNotes', 'stop.setStatus',
      'stop.editNotes', 'stop.edit', 'route.edit', 'position.read', 'tracking.manage', 'pod.view',
    ],
    mfaRequired: true,
    mustExpire: false,
    assignedRoutesOnly: false,
    mayGrant: [],
  },
  driver: {
    permissions: [
      'location.read', 'stop.readCustomer', 'stop.readPhone', 'stop.readNotes', 'stop.setStatus', 'position.report', 'pod.capture',
    ],
    mfaRequired: false,
    mustExpire: false,
    assignedRoutesOnly: true,
    mayGrant: [],
  },
  finance: {
    permissions: ['location.read', 'stop.readCustomer', 'stop.readBilling', 'export.operational', 'export.billing'],
    mfaRequired: false,
    mustExpire: false,
    assignedRoutesOnly: false,
    mayGrant: [],
  },
  reporting: {
    permissions: ['location.read', 'export.operational'],
    mfaRequired: false,
    mustExpire: false,
    assignedRoutesOnly: false,
    mayGrant: [],
  },
  contractor: {
    permissions: ['location.read', 'stop.readCustomer', 'stop.readPhone', 'stop.setStatus', 'position.read'],
    mfaRequired: false,
    mustExpire: true,
    assignedRoutesOnly: false,
    mayGrant: [],
  },
};

/** Which permission reveals each redactable stop field. */
export const stopFieldPermission: Readonly<Record<RedactableStopField, Permission>> = {
  customerName: 'stop.readCustomer',
  address: 'stop.readCustomer',
  coordinates: 'stop.readCustomer',
  phone: 'stop.readPhone',
  email: 'stop.readPhone',
  notes: 'stop.readNotes',
  failureNote: 'stop.readNotes',
  paymentRef: 'stop.readBilling',
  codAmount: 'stop.readBilling',
  deliveryFee: 'stop.readBilling',
  currency: 'stop.readBilling',
};

/** The permissions that change what a stop looks like to a viewer, in catalogue order. */
export const stopRedactionPermissions: readonly Permission[] = allPermissions.filter((p) =>
  Object.values(stopFieldPermission).includes(p));

/**
 * Removes every stop field the viewer's permissions at the stop's location do not reveal.
 * Fields are deleted, not blanked, so a redacted value cannot be mistaken for an empty one.
 */
export function redactStopForViewer(stop: Stop, permissions: ReadonlySet<Permission>): Stop {
  const out: Stop = { ...stop };
  for (const field of Object.keys(stopFieldPermission) as RedactableStopField[]) {
    if (!permissions.has(stopFieldPermission[field])) delete out[field];
  }
  // A withheld field is named only to viewers who may see that field.
  if (out.withheld) {
    const visible = out.withheld.filter((f) => permissions.has(stopFieldPermission[f]));
    if (visible.length > 0) out.withheld = visible;
    else delete out.withheld;
  }
  return out;
}

export function permissionsOfRole(role: RoleName): ReadonlySet<Permission> {
  return new Set(roleTemplates[role].permissions);
}

export function roleRequiresMfa(role: RoleName): boolean {
  return roleTemplates[role].mfaRequired;
}

/** The key a grant's permission set is redacted by, so identical viewers share one redaction. */
export function viewKey(permissions: ReadonlySet<Permission>): string {
  return stopRedactionPermissions.map((p) => (permissions.has(p) ? '1' : '0')).join('');
}
