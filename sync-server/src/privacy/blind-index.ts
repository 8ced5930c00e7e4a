import crypto from 'node:crypto';
import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import type { ServerContext } from '../context';

/**
 * The blind index: a keyed hash of a customer's normalised phone number and email, stored
 * beside the encrypted values (stops.phone_bidx, stops.email_bidx), so the server finds every
 * stop of a customer without decrypting every stop and without storing the plaintext. The
 * approach is CipherSweet's (https://ciphersweet.paragonie.com/security): HMAC-SHA256 under its
 * own key (never the field key), domain-separated per kind, truncated.
 *
 * Truncation to 32 bits keeps false matches rare enough to check by decrypting (customers.ts),
 * while an index value is not a full-strength fingerprint of the number: with the key as well
 * as the database, an attacker enumerating a numbering plan finds several numbers per value.
 * What stays visible to whoever holds the database without the key: which stops share a value
 * (nearly always the same customer) and how many there are (docs/security-model.md "Blind index").
 */

/** Hex digits kept of the HMAC: 32 bits. Changing it needs `depotline-admin privacy reindex`. */
const keptHexDigits = 8;

type IndexContext = Pick<ServerContext, 'blindIndexKey' | 'config'>;

function indexValue(ctx: Pick<ServerContext, 'blindIndexKey'>, kind: 'phone' | 'email', normalised: string): string {
  const mac = crypto.createHmac('sha256', ctx.blindIndexKey).update(`depotline/blind-index/v1/${kind}\u0000${normalised}`, 'utf8').digest('hex');
  // The kind's letter keeps a phone's value and an email's apart wherever one column holds either (customer_key).
  return `${kind === 'phone' ? 'p' : 'e'}${mac.slice(0, keptHexDigits)}`;
}

/**
 * A phone number in E.164 (`+447700900123`), read with `region` (else the server's
 * DEPOTLINE_PHONE_REGION) for numbers written without a country code; null when it is not a
 * possible number of any plan.
 */
export function normalisePhone(raw: string, region: CountryCode): string | null {
  const parsed = parsePhoneNumberFromString(raw.trim(), { defaultCountry: region });
  return parsed?.isPossible() ? parsed.number : null;
}

/** An email trimmed and in lower case (NFC); null when it is not `local@domain`. */
export function normaliseEmail(raw: string): string | null {
  const email = raw.normalize('NFC').trim().toLowerCase();
  const at = email.lastIndexOf('@');
  if (at < 1 || at === email.length - 1 || email.length > 254 || /\s/.test(email)) return null;
  return email;
}

/** The blind index of a phone number; null when it does not parse (such a stop is found by no phone search). */
export function phoneKey(ctx: IndexContext, raw: string, region?: CountryCode): string | null {
  const e164 = normalisePhone(raw, region ?? ctx.config.privacy.phoneRegion);
  return e164 === null ? null : indexValue(ctx, 'phone', e164);
}

/** The blind index of an email; null when it is not an email. */
export function emailKey(ctx: Pick<ServerContext, 'blindIndexKey'>, raw: string): string | null {
  const email = normaliseEmail(raw);
  return email === null ? null : indexValue(ctx, 'email', email);
}

/**
 * The index columns for a stop write: a field left undefined is not touched, a null one clears
 * its index. Every writer of stops.phone_enc and stops.email_enc goes through `encryptStopPii`
 * (sync/stop-pii.ts), which adds these, so a value and its index never disagree.
 */
export function stopIndexColumns(
  ctx: IndexContext,
  values: { phone?: string | null; email?: string | null },
): { phone_bidx?: string | null; email_bidx?: string | null } {
  return {
    ...(values.phone !== undefined ? { phone_bidx: values.phone === null ? null : phoneKey(ctx, values.phone) } : {}),
    ...(values.email !== undefined ? { email_bidx: values.email === null ? null : emailKey(ctx, values.email) } : {}),
  };
}

/** The index values a customer is known by: what the holds, consents and sharing flags are keyed on. */
export function customerKeys(ctx: IndexContext, customer: { phone?: string; email?: string }): { phone: string | null; email: string | null } {
  return {
    phone: customer.phone !== undefined ? phoneKey(ctx, customer.phone) : null,
    email: customer.email !== undefined ? emailKey(ctx, customer.email) : null,
  };
}
