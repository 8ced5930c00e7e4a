import { z } from 'zod';

/*
 * The order a stop carries (docs/sync-protocol.md "Orders"): the shop's order reference, what
 * is handed over, regulated-goods checks, billing, and why a delivery failed. The values here are
 * the building blocks of `Stop` (domain.ts) and of `stop.create` / `stop.update` (mutations.ts).
 */

const noControl = /^[^\p{Cc}\p{Cf}]*$/u;
const trimmed = /^\S(?:.*\S)?$/su;

/**
 * The shop's order reference. Unique per location: an import that meets a known reference
 * updates that stop instead of adding another. Optional on a stop (stops made before orders, or
 * by hand, may have none); an import requires it.
 */
export const OrderRef = z.string().min(1).max(64)
  .regex(noControl, 'order references have no control characters')
  .regex(trimmed, 'order references do not start or end with a space');
export type OrderRef = z.infer<typeof OrderRef>;

export const maxParcelsPerStop = 200;
export const ParcelCount = z.number().int().min(0).max(maxParcelsPerStop);

/** A parcel label as scanned: printable ASCII, no spaces. */
export const Barcode = z.string().min(1).max(64).regex(/^[\x21-\x7E]+$/, 'barcodes are printable characters without spaces');
/** The barcodes a stop expects to hand over: each once, at most `maxParcelsPerStop`. */
export const Barcodes = z.array(Barcode).max(maxParcelsPerStop)
  .refine((codes) => new Set(codes).size === codes.length, 'a barcode is listed twice');

export const Email = z.email().max(254);

/**
 * The order requires the customer's delivery PIN at the door: the server generates one per stop,
 * shows it on the tracking page, and refuses `delivered` until the driver enters it (delivery-checks.ts).
 */
export const PinRequired = z.boolean();

/** The minimum age the recipient must prove for regulated goods (alcohol, tobacco, medicine). */
export const MinimumAge = z.number().int().min(1).max(99);

/**
 * Money is an integer number of the currency's minor units (cents, pence; yen have none), never
 * a float, with the ISO 4217 code next to it. One currency per stop, for both amounts.
 */
export const MinorAmount = z.number().int().min(0).max(99_999_999_999);
export const CurrencyCode = z.string().regex(/^[A-Z]{3}$/, 'currencies are ISO 4217 codes such as EUR');
export const PaymentRef = z.string().min(1).max(100)
  .regex(noControl, 'payment references have no control characters');

/** Why a delivery failed: the fixed list a driver or dispatcher picks from, plus a free-text note. */
export const failureReasons = [
  'customer_absent', 'address_not_found', 'refused', 'damaged', 'access_denied', 'unsafe', 'age_check_failed', 'handover_refused_check', 'other',
] as const;
export const FailureReason = z.enum(failureReasons);
export type FailureReason = z.infer<typeof FailureReason>;

/** How each failure reason reads in a console. */
export const failureReasonText: Readonly<Record<FailureReason, string>> = {
  customer_absent: 'Customer not there',
  address_not_found: 'Address not found',
  refused: 'Refused by the customer',
  damaged: 'Parcel damaged',
  access_denied: 'No access to the building',
  unsafe: 'Unsafe to deliver',
  age_check_failed: 'Age or ID check failed',
  handover_refused_check: 'Handover refused: the age or ID check was not passed',
  other: 'Other (see note)',
};

export const FailureNote = z.string().max(500);

/**
 * Why a status change is refused on account of its failure reason, or null: a stop becomes
 * `failed` only with a reason from the list, and only a failed stop carries one. The server
 * enforces it; a console checks it before queueing.
 */
export function failureReasonRefusal(to: string, failureReason: FailureReason | undefined): string | null {
  if (to === 'failed' && failureReason === undefined) return 'A failed delivery needs a reason from the list.';
  if (to !== 'failed' && failureReason !== undefined) return 'Only a failed delivery has a failure reason.';
  return null;
}

/** The billing fields of a stop: seen only with `stop.readBilling`, and set only with it too. */
export const stopBillingFields = ['paymentRef', 'codAmount', 'deliveryFee', 'currency'] as const;
export type StopBillingField = (typeof stopBillingFields)[number];

/**
 * Order data that does not hold together, in plain words (empty when it does): an amount
 * without a currency. Checked on the stop as it would be after a create or an update.
 */
export function stopOrderProblems(s: { codAmount?: number | null; deliveryFee?: number | null; currency?: string | null }): string[] {
  const problems: string[] = [];
  const hasAmount = (s.codAmount ?? null) !== null || (s.deliveryFee ?? null) !== null;
  if (hasAmount && (s.currency ?? null) === null) problems.push('An amount needs a currency.');
  return problems;
}
