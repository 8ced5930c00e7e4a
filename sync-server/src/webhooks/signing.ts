import crypto from 'node:crypto';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, spec "Signature scheme"):
 * `webhook-signature: v1,<base64 HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>">`,
 * keyed with the secret's bytes (the base64 after `whsec_`). During a secret rotation both the
 * new and the previous secret sign, space-separated, so a receiver holding either verifies.
 */

const secretPrefix = 'whsec_';

/** A new signing secret: `whsec_` and 32 random bytes in base64 (the spec asks for 24 to 64). */
export function newWebhookSecret(): string {
  return secretPrefix + crypto.randomBytes(32).toString('base64');
}

/** A new delivery id, the `webhook-id` a receiver deduplicates by. */
export function newWebhookMessageId(): string {
  return `msg_${crypto.randomBytes(16).toString('base64url')}`;
}

function secretBytes(secret: string): Buffer {
  if (!secret.startsWith(secretPrefix)) throw new Error('a webhook secret starts with whsec_');
  return Buffer.from(secret.slice(secretPrefix.length), 'base64');
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * The three headers for one attempt. `timestampS` is the attempt's time in Unix seconds
 * (receivers refuse one more than a few minutes off their clock); `secrets` newest first.
 */
export function signWebhook(id: string, timestampS: number, body: string, secrets: readonly string[]): SignedHeaders {
  const content = `${id}.${timestampS}.${body}`;
  const signatures = secrets.map((s) => `v1,${crypto.createHmac('sha256', secretBytes(s)).update(content).digest('base64')}`);
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampS), 'webhook-signature': signatures.join(' ') };
}
