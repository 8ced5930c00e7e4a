import type { ConsoleKeyView, ConsoleWebhookAttemptView, IntegrationKind, ProfileField, WebhookEventType } from '@depotline/shared';

/* The Integrations screen's words for the contract's names. */

export const kindLabel: Readonly<Record<IntegrationKind, string>> = {
  shop: 'Shop',
  courier: 'Courier partner',
  warehouse: 'Warehouse',
  notifications: 'Notifications',
  accounting: 'Accounting',
  other: 'Other',
};

export const profileFieldLabel: Readonly<Record<ProfileField, string>> = {
  orderRef: 'Order reference',
  status: 'Status and history',
  timeWindow: 'Time window',
  address: 'Delivery address',
  eta: 'Arrival estimate',
  failureReason: 'Failure reason',
  customerName: 'Customer name',
  phone: 'Customer phone',
  email: 'Customer email',
  notes: 'Delivery notes',
  billing: 'Billing (payment reference, amounts)',
};

export const scopeLabel: Readonly<Record<string, string>> = {
  'orders.write': 'Create and update orders',
  'orders.read': 'Read orders',
  'status.read': 'Read stop status and history',
  'pod.read': 'Read proof of delivery',
};

export const eventLabel: Readonly<Record<WebhookEventType, string>> = {
  'order.created': 'Order created',
  'stop.status_changed': 'Stop status changed',
  'stop.delivered': 'Delivered',
  'stop.failed': 'Delivery failed',
  'pod.added': 'Proof of delivery added',
  'tracking_link.created': 'Tracking link created',
  'security.alert': 'Security alerts',
};

export const keyStatusLabel: Readonly<Record<ConsoleKeyView['status'], string>> = {
  active: 'Active',
  ending: 'Ending (rotated)',
  expired: 'Expired',
  revoked: 'Revoked',
};

export const attemptOutcomeLabel: Readonly<Record<ConsoleWebhookAttemptView['outcome'], string>> = {
  delivered: 'Delivered',
  failed: 'Failed',
  retrying: 'Will retry',
  gave_up: 'Gave up',
};

/** `yyyy-mm-dd` of a time, in this computer's zone, for a date input. */
export function dateInputValue(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** The end of a date input's day (23:59:59.999 in this computer's zone); null when it is empty or not a date. */
export function endOfDay(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return null;
  const ms = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 23, 59, 59, 999).getTime();
  return Number.isFinite(ms) ? ms : null;
}

export const daysFrom = (now: number, days: number) => dateInputValue(now + days * 86_400_000);
