import { z } from 'zod';
import { parseCidr } from './cidr';
import {
  Address, Coordinates, CustomerName, DeliveryNotes, EntityId, Phone, StopStatus, Timestamp, TimeWindow,
} from './domain';
import {
  Barcodes, CurrencyCode, Email, FailureNote, FailureReason, MinimumAge, MinorAmount, OrderRef, ParcelCount, PaymentRef,
} from './orders';
import { isMachinePermission, type MachinePermission, machinePermissions, type Permission } from './permissions';

// The machine permissions are part of the permission catalogue; named here too, for integration code.
export { isMachinePermission, type MachinePermission, machinePermissions } from './permissions';

/*
 * Integrations (docs/security-model.md, "Integrations"; REST under /api/v1/integrations,
 * docs/api.md): outside systems (a shop, a courier partner, a warehouse...) registered by an
 * admin for a set of locations. Each holds machine permissions per location (its scopes), a
 * data profile (the allowlist of fields it may receive) and an address allowlist.
 */

export const integrationKinds = ['shop', 'courier', 'warehouse', 'notifications', 'accounting', 'other'] as const;
export const IntegrationKind = z.enum(integrationKinds);
export type IntegrationKind = z.infer<typeof IntegrationKind>;

/**
 * The fields an integration may be allowed to receive about an order. Everything an integration
 * receives is cut to its profile by one function (`presentStopForIntegration` on the server).
 * What each carries (`IntegrationStopView`): `orderRef` is the order reference with its parcels
 * (count, barcodes) and checks (minimum age, ID); `timeWindow` the delivery window; `address` the
 * address and its coordinates; `notes` the delivery notes and a failure's note; `billing` the
 * payment reference, amounts and currency.
 */
export const profileFields = [
  'orderRef', 'status', 'timeWindow', 'address', 'eta', 'failureReason',
  'customerName', 'phone', 'email', 'notes', 'billing',
] as const;
export const ProfileField = z.enum(profileFields);
export type ProfileField = z.infer<typeof ProfileField>;

/** What a courier partner needs and nothing more: the default of every new integration. */
export const defaultDataProfile: readonly ProfileField[] = ['orderRef', 'status', 'timeWindow', 'address'];

/** Contact and billing fields: turning one on is a sensitive change (`integration.profile`, four-eyes). */
export const sensitiveProfileFields: readonly ProfileField[] = ['customerName', 'phone', 'email', 'notes', 'billing'];

export function isSensitiveProfileField(f: ProfileField): boolean {
  return sensitiveProfileFields.includes(f);
}

/**
 * The permission a person needs at a location to let an integration receive the field there:
 * nobody hands an outside system data they may not see themselves.
 */
export const profileFieldPermission: Readonly<Record<ProfileField, Permission>> = {
  orderRef: 'location.read',
  status: 'location.read',
  timeWindow: 'location.read',
  eta: 'location.read',
  failureReason: 'location.read',
  address: 'stop.readCustomer',
  customerName: 'stop.readCustomer',
  phone: 'stop.readPhone',
  email: 'stop.readPhone',
  notes: 'stop.readNotes',
  billing: 'stop.readBilling',
};

/**
 * The permission a person needs at a location to give an integration a machine permission
 * there: the person's own counterpart of what the integration will do.
 */
export const machinePermissionCounterpart: Readonly<Record<MachinePermission, Permission>> = {
  'orders.write': 'stop.edit',
  'orders.read': 'location.read',
  'status.read': 'location.read',
  'pod.read': 'location.read',
};

/** The sensitive fields `after` turns on that `before` did not have (empty: no approval needed). */
export function profileWidening(before: readonly ProfileField[], after: readonly ProfileField[]): ProfileField[] {
  return after.filter((f) => isSensitiveProfileField(f) && !before.includes(f));
}

/**
 * Which orders at its locations an integration reads and hears about: `own`, only the orders it
 * created itself through the API (the default of every integration); `location`, every order at
 * its locations (a courier partner or a warehouse delivering other people's orders), chosen by
 * an admin. Widening to `location` while the data profile holds a contact or billing field is a
 * sensitive change (`integration.profile`, four-eyes).
 */
export const orderVisibilities = ['own', 'location'] as const;
export const OrderVisibility = z.enum(orderVisibilities);
export type OrderVisibility = z.infer<typeof OrderVisibility>;

export const webhookEventTypes = [
  'order.created', 'stop.status_changed', 'stop.delivered', 'stop.failed', 'pod.added', 'tracking_link.created', 'security.alert',
] as const;
export const WebhookEventType = z.enum(webhookEventTypes);
export type WebhookEventType = z.infer<typeof WebhookEventType>;

/* ----------------------------------------------------------------------------- bodies */

/** Readable, unique, and the name the audit log knows the integration by (`integration:<name>`). */
export const IntegrationName = z.string().min(2).max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'integration names are lower-case letters, digits and . _ - (e.g. "acme-shop")');
export const IntegrationId = EntityId;

export const MachinePermissionName = z.string().max(64).refine(isMachinePermission, {
  error: (issue) => `"${String(issue.input).slice(0, 64)}" is not an integration scope (one of ${machinePermissions.join(', ')})`,
});

/** One allowlist entry, read into its canonical form (`parseCidr`); a bad one is refused with why. */
export const CidrEntry = z.string().max(64).transform((text, ctx) => {
  const parsed = parseCidr(text);
  if (parsed.ok) return parsed.cidr;
  ctx.addIssue({ code: 'custom', message: parsed.message });
  return z.NEVER;
});

const unique = <T>(what: string) => (xs: readonly T[]) => new Set(xs).size === xs.length || `${what} are listed once each`;

export const IpAllowlist = z.array(CidrEntry).max(100).transform((xs) => [...new Set(xs)]);
export const DataProfile = z.array(ProfileField).max(profileFields.length).refine(unique('fields'))
  .transform((fs) => profileFields.filter((f) => fs.includes(f)));

/** What the integration may do at one location. */
export const IntegrationScope = z.object({
  locationId: EntityId,
  permissions: z.array(MachinePermissionName).min(1).max(machinePermissions.length).refine(unique('scopes')),
}).strict();
export type IntegrationScope = z.infer<typeof IntegrationScope>;

const scopeList = z.array(IntegrationScope).min(1, 'an integration holds scopes at one location at least').max(500)
  .refine((ss) => new Set(ss.map((s) => s.locationId)).size === ss.length, 'each location is listed once');

const Contact = z.string().trim().min(1).max(200);

/**
 * `POST /integrations`. The data profile may hold only non-sensitive fields here: contact and
 * billing fields are turned on afterwards with `PATCH`, which asks a second admin.
 */
export const IntegrationCreate = z.object({
  name: IntegrationName,
  kind: IntegrationKind,
  contact: Contact,
  scopes: scopeList,
  dataProfile: DataProfile.default([...defaultDataProfile]),
  ipAllowlist: IpAllowlist.default([]),
  autoSuspendOnAlert: z.boolean().default(false),
  orderVisibility: OrderVisibility.default('own'),
}).strict().superRefine((v, ctx) => {
  const sensitive = v.dataProfile.filter(isSensitiveProfileField);
  if (sensitive.length > 0) {
    ctx.addIssue({
      code: 'custom', path: ['dataProfile'],
      message: `${sensitive.join(', ')}: contact and billing fields are turned on after creating the integration (PATCH), with a second admin's approval`,
    });
  }
});
export type IntegrationCreate = z.infer<typeof IntegrationCreate>;

/**
 * `PATCH /integrations/:integrationId`: each field given replaces the integration's. With
 * `expectedVersion` the change is refused if the integration changed since. Turning a contact or
 * billing field on needs approval, and so does widening where an integration with such a field
 * reads (a new location, a reading scope at a location, `orderVisibility` to `location`): then
 * `reason` is required and the answer is `202`.
 */
export const IntegrationUpdate = z.object({
  kind: IntegrationKind.optional(),
  contact: Contact.optional(),
  scopes: scopeList.optional(),
  dataProfile: DataProfile.optional(),
  ipAllowlist: IpAllowlist.optional(),
  autoSuspendOnAlert: z.boolean().optional(),
  orderVisibility: OrderVisibility.optional(),
  expectedVersion: z.number().int().positive().optional(),
}).strict().refine((v) => Object.keys(v).some((k) => k !== 'expectedVersion'), 'nothing to change');
export type IntegrationUpdate = z.infer<typeof IntegrationUpdate>;

/** `POST /integrations/:integrationId/suspend`: every call of the integration is refused until resumed. */
export const IntegrationSuspend = z.object({ reason: z.string().trim().min(3, 'say why, in a few words').max(500) }).strict();
export type IntegrationSuspend = z.infer<typeof IntegrationSuspend>;

export const IntegrationListQuery = z.object({
  locationId: EntityId.optional(),
  includeSuspended: z.enum(['true', 'false']).optional(),
}).strict();
export type IntegrationListQuery = z.infer<typeof IntegrationListQuery>;

/**
 * The change `integration.profile` asks a second admin for, at the integration's version: the
 * whole new profile and, when they widen where contact or billing fields go, the whole new
 * scopes and the order visibility (absent: unchanged).
 */
export const IntegrationProfileChange = z.object({
  integrationId: IntegrationId,
  version: z.number().int().positive(),
  dataProfile: DataProfile,
  scopes: scopeList.optional(),
  orderVisibility: OrderVisibility.optional(),
}).strict();
export type IntegrationProfileChange = z.infer<typeof IntegrationProfileChange>;

/* ------------------------------------------------------------------------------ views */

export const IntegrationView = z.object({
  id: IntegrationId,
  name: IntegrationName,
  kind: IntegrationKind,
  contact: z.string(),
  scopes: z.array(z.object({ locationId: EntityId, permissions: z.array(z.enum(machinePermissions)) })),
  dataProfile: z.array(ProfileField),
  ipAllowlist: z.array(z.string()),
  autoSuspendOnAlert: z.boolean(),
  orderVisibility: OrderVisibility,
  suspendedAt: Timestamp.nullable(),
  suspendedReason: z.string().nullable(),
  createdAt: Timestamp,
  createdBy: z.string(),
  updatedAt: Timestamp,
  version: z.number().int().positive(),
  /** What an admin should know (no address allowlist: calls are accepted from anywhere). */
  warnings: z.array(z.string()),
});
export type IntegrationView = z.infer<typeof IntegrationView>;

/**
 * A stop (an order) as an integration receives it, over REST and in webhooks: only what its data
 * profile allows. A field outside the profile is absent, never null (null means "the order has
 * none"). `id`, `locationId` and `updatedAt` are always there, to name and order what was sent.
 */
export const IntegrationStopView = z.object({
  id: EntityId,
  locationId: EntityId,
  updatedAt: Timestamp,
  orderRef: OrderRef.nullable().optional(),
  parcelCount: ParcelCount.optional(),
  barcodes: Barcodes.optional(),
  minimumAge: MinimumAge.nullable().optional(),
  idCheck: z.boolean().optional(),
  pinRequired: z.boolean().optional(),
  status: StopStatus.optional(),
  timeWindow: TimeWindow.optional(),
  address: Address.optional(),
  coordinates: Coordinates.nullable().optional(),
  eta: Timestamp.nullable().optional(),
  failureReason: FailureReason.nullable().optional(),
  customerName: CustomerName.optional(),
  phone: Phone.nullable().optional(),
  email: Email.nullable().optional(),
  notes: DeliveryNotes.optional(),
  failureNote: FailureNote.nullable().optional(),
  billing: z.object({
    paymentRef: PaymentRef.nullable(),
    codAmount: MinorAmount.nullable(),
    deliveryFee: MinorAmount.nullable(),
    currency: CurrencyCode.nullable(),
  }).optional(),
  /** Profile fields the server holds but could not verify (stored ciphertext that does not decrypt): left out. */
  withheld: z.array(ProfileField).optional(),
}).strict();
export type IntegrationStopView = z.infer<typeof IntegrationStopView>;
