import {
  Address, Barcodes, CurrencyCode, CustomerName, DeliveryNotes, Email, Latitude, Longitude, MinimumAge, OrderRef, ParcelCount, PaymentRef, Phone,
  type StopOrderInput, type StopOrderView,
} from '@depotline/shared';
import type { z } from 'zod';
import { fromZonedInput, toZonedInput } from './zoned-time';

/**
 * The stop editor's form: every field as the user types it (strings and a checkbox), turned into
 * the order the bridge takes with the same shared schemas the server parses, so a mistake is
 * named next to its field before anything is sent, and nothing typed is lost.
 */
export interface StopDraft {
  orderRef: string;
  customerName: string;
  address: string;
  lat: string;
  lng: string;
  phone: string;
  email: string;
  notes: string;
  windowStart: string;
  windowEnd: string;
  parcelCount: string;
  barcodes: string;
  minimumAge: string;
  idCheck: boolean;
  pinRequired: boolean;
  paymentRef: string;
  codAmount: string;
  deliveryFee: string;
  currency: string;
}
export type DraftField = keyof StopDraft;
export type DraftErrors = Partial<Record<DraftField, string>>;

/** Which groups of fields this user works with: the same permissions the server checks. */
export interface FormScope {
  notes: boolean;
  contact: boolean;
  billing: boolean;
}

/** Decimal places of a currency's minor unit (2 for EUR, 0 for JPY). */
export function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

const amountText = (minor: number | null | undefined, currency: string | null | undefined) =>
  minor == null ? '' : (minor / 10 ** minorDigits(currency ?? 'EUR')).toFixed(minorDigits(currency ?? 'EUR'));

export function newStopDraft(date: string, timeZone: string): StopDraft {
  const at = (hhmm: string) => toZonedInput(fromZonedInput(`${date}T${hhmm}`, timeZone) ?? Date.now(), timeZone);
  return {
    orderRef: '', customerName: '', address: '', lat: '', lng: '', phone: '', email: '', notes: '', windowStart: at('09:00'), windowEnd: at('17:00'),
    parcelCount: '1', barcodes: '', minimumAge: '', idCheck: false, pinRequired: false, paymentRef: '', codAmount: '', deliveryFee: '', currency: '',
  };
}

/** The form as the stop is now; phone and email stay empty until revealed. */
export function draftOf(view: StopOrderView, timeZone: string, revealed: { phone: string | null; email?: string | null | undefined } | null): StopDraft {
  const s = view.stop;
  return {
    orderRef: s.orderRef ?? '',
    customerName: s.customerName ?? '',
    address: s.address ?? '',
    lat: s.coordinates ? String(s.coordinates.lat) : '',
    lng: s.coordinates ? String(s.coordinates.lng) : '',
    phone: revealed?.phone ?? '',
    email: revealed?.email ?? '',
    notes: s.notes ?? '',
    windowStart: toZonedInput(s.window.start, timeZone),
    windowEnd: toZonedInput(s.window.end, timeZone),
    parcelCount: String(s.parcelCount),
    barcodes: s.barcodes.join('\n'),
    minimumAge: s.minimumAge === null ? '' : String(s.minimumAge),
    idCheck: s.idCheck,
    pinRequired: s.pinRequired,
    paymentRef: s.paymentRef ?? '',
    codAmount: amountText(s.codAmount, s.currency),
    deliveryFee: amountText(s.deliveryFee, s.currency),
    currency: s.currency ?? '',
  };
}

function parse<T>(schema: z.ZodType<T>, value: unknown, field: DraftField, errors: DraftErrors): T | undefined {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  errors[field] = r.error.issues[0]?.message ?? 'not valid';
  return undefined;
}

const orNull = (s: string) => (s.trim() === '' ? null : s.trim());

/**
 * The order the draft describes, with each field's problem in plain words. `scope` leaves out
 * what the user may not set (the server would refuse it).
 */
export function orderOfDraft(d: StopDraft, timeZone: string, scope: FormScope): { order: StopOrderInput; errors: DraftErrors } {
  const errors: DraftErrors = {};
  const order: StopOrderInput = {};
  const set = <K extends keyof StopOrderInput>(key: K, value: StopOrderInput[K] | undefined) => {
    if (value !== undefined) order[key] = value;
  };
  set('orderRef', orNull(d.orderRef) === null ? null : parse(OrderRef, d.orderRef.trim(), 'orderRef', errors));
  set('customerName', parse(CustomerName, d.customerName.trim(), 'customerName', errors));
  set('address', parse(Address, d.address.trim(), 'address', errors));
  if (d.lat.trim() === '' && d.lng.trim() === '') set('coordinates', null);
  else if (d.lat.trim() === '' || d.lng.trim() === '') errors[d.lat.trim() === '' ? 'lat' : 'lng'] = 'give both latitude and longitude, or neither';
  else {
    const lat = parse(Latitude, Number(d.lat), 'lat', errors);
    const lng = parse(Longitude, Number(d.lng), 'lng', errors);
    if (Number.isNaN(Number(d.lat))) errors.lat = 'latitude is a number such as 51.5072';
    if (Number.isNaN(Number(d.lng))) errors.lng = 'longitude is a number such as -0.1276';
    if (lat !== undefined && lng !== undefined && !errors.lat && !errors.lng) set('coordinates', { lat, lng });
  }
  if (scope.contact) {
    set('phone', orNull(d.phone) === null ? null : parse(Phone, d.phone.trim(), 'phone', errors));
    set('email', orNull(d.email) === null ? null : parse(Email, d.email.trim(), 'email', errors));
  }
  if (scope.notes) set('notes', parse(DeliveryNotes, d.notes, 'notes', errors));
  const start = fromZonedInput(d.windowStart, timeZone);
  const end = fromZonedInput(d.windowEnd, timeZone);
  if (start === null) errors.windowStart = 'choose when the window opens';
  if (end === null) errors.windowEnd = 'choose when the window closes';
  if (start !== null && end !== null) {
    if (end < start) errors.windowEnd = 'the window ends before it starts';
    else set('window', { start, end });
  }
  set('parcelCount', parse(ParcelCount, d.parcelCount.trim() === '' ? Number.NaN : Number(d.parcelCount), 'parcelCount', errors));
  if (errors.parcelCount) errors.parcelCount = 'parcels are a whole number from 0 to 200';
  set('barcodes', parse(Barcodes, d.barcodes.split(/[\s,]+/).filter(Boolean), 'barcodes', errors));
  set('minimumAge', d.minimumAge.trim() === '' ? null : parse(MinimumAge, Number(d.minimumAge), 'minimumAge', errors));
  if (errors.minimumAge) errors.minimumAge = 'an age from 1 to 99, or empty for no age check';
  set('idCheck', d.idCheck);
  set('pinRequired', d.pinRequired);
  if (scope.billing) {
    const currency = orNull(d.currency)?.toUpperCase() ?? null;
    set('currency', currency === null ? null : parse(CurrencyCode, currency, 'currency', errors));
    set('paymentRef', orNull(d.paymentRef) === null ? null : parse(PaymentRef, d.paymentRef.trim(), 'paymentRef', errors));
    for (const field of ['codAmount', 'deliveryFee'] as const) {
      const text = d[field].trim().replace(',', '.');
      if (text === '') {
        set(field, null);
        continue;
      }
      const digits = minorDigits(currency ?? 'EUR');
      if (!/^\d+(\.\d+)?$/.test(text) || (text.split('.')[1]?.length ?? 0) > digits) {
        errors[field] = `an amount such as ${(1250 / 10 ** digits).toFixed(digits)}`;
        continue;
      }
      set(field, Math.round(Number(text) * 10 ** digits));
      if (currency === null) errors.currency = 'an amount needs a currency, such as EUR';
    }
  }
  return { order, errors };
}

/** Only what differs from the stop as it was (an update sends nothing else). */
export function changedFields(order: StopOrderInput, before: StopOrderInput): StopOrderInput {
  const out: StopOrderInput = {};
  for (const key of Object.keys(order) as Array<keyof StopOrderInput>) {
    if (JSON.stringify(order[key]) !== JSON.stringify(before[key])) Object.assign(out, { [key]: order[key] });
  }
  return out;
}
