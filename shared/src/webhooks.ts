import { z } from 'zod';
import { EntityId, Timestamp } from './domain';
import { WebhookEventType } from './integrations';

/*
 * Webhook subscriptions (REST under /api/v1/integrations/:integrationId/webhooks, docs/api.md
 * "Webhooks"). A subscription is an integration's receiver: an https URL and the event types it
 * wants. Deliveries are signed per Standard Webhooks with the subscription's secret, shown once.
 */

export const WebhookSubscriptionId = z.string().regex(/^whsub_[A-Za-z0-9_-]{16,64}$/, 'a webhook subscription id (whsub_...)');

/** Checked again on the server: https, and a host that resolves only to public addresses. */
export const WebhookUrl = z.string().trim().max(2048).url();

export const WebhookEvents = z.array(WebhookEventType).min(1).max(16)
  .refine((xs) => new Set(xs).size === xs.length, 'each event type is listed once');

/** `POST .../webhooks`. */
export const WebhookSubscriptionCreate = z.object({ url: WebhookUrl, events: WebhookEvents }).strict();
export type WebhookSubscriptionCreate = z.infer<typeof WebhookSubscriptionCreate>;

/** `PATCH .../webhooks/:subscriptionId`: each field given replaces the subscription's. */
export const WebhookSubscriptionUpdate = z.object({ url: WebhookUrl.optional(), events: WebhookEvents.optional() }).strict()
  .refine((v) => v.url !== undefined || v.events !== undefined, 'nothing to change');
export type WebhookSubscriptionUpdate = z.infer<typeof WebhookSubscriptionUpdate>;

/** The longest overlap a rotated secret keeps signing beside its successor. */
export const maxWebhookSecretOverlapMs = 30 * 24 * 60 * 60 * 1000;

/**
 * `POST .../webhooks/:subscriptionId/rotate-secret`: a new secret signs from now on; the previous
 * one signs beside it until `previousSecretEndsAt` (at most 30 days ahead; omitted or now: at once).
 */
export const WebhookSecretRotate = z.object({ previousSecretEndsAt: Timestamp.optional() }).strict();
export type WebhookSecretRotate = z.infer<typeof WebhookSecretRotate>;

export const webhookSubscriptionStatuses = ['active', 'paused'] as const;

export const WebhookSubscriptionView = z.object({
  id: WebhookSubscriptionId,
  integrationId: EntityId,
  url: z.string(),
  events: z.array(WebhookEventType),
  status: z.enum(webhookSubscriptionStatuses),
  /** `admin` (paused by hand), `failing` (failed for a day) or `gone` (the receiver answered 410 Gone). */
  pauseReason: z.enum(['admin', 'failing', 'gone']).nullable(),
  pausedAt: Timestamp.nullable(),
  /** The first failed attempt since the last success; null while it succeeds. */
  failingSince: Timestamp.nullable(),
  lastSuccessAt: Timestamp.nullable(),
  /** Until when the previous secret still signs beside the current one; null outside a rotation. */
  previousSecretEndsAt: Timestamp.nullable(),
  createdAt: Timestamp,
  createdBy: z.string().nullable(),
  updatedAt: Timestamp,
  version: z.number().int().positive(),
});
export type WebhookSubscriptionView = z.infer<typeof WebhookSubscriptionView>;

/** The answer to a create or a rotation: the secret, shown this once and never again. */
export const WebhookSecretShown = z.object({ subscription: WebhookSubscriptionView, secret: z.string().startsWith('whsec_') });
export type WebhookSecretShown = z.infer<typeof WebhookSecretShown>;

export const WebhookDeliveryView = z.object({
  /** The `webhook-id` the receiver saw (the same on every attempt). */
  id: z.string(),
  eventType: WebhookEventType,
  locationId: EntityId,
  stopId: EntityId.nullable(),
  occurredAt: Timestamp,
  createdAt: Timestamp,
  status: z.enum(['pending', 'delivered', 'dead']),
  attempts: z.number().int().nonnegative(),
  nextAttemptAt: Timestamp.nullable(),
  deliveredAt: Timestamp.nullable(),
  /** The last attempt's HTTP status or error class (`timeout`, `redirect`, `address_refused`, ...). */
  lastStatus: z.string().nullable(),
});
export type WebhookDeliveryView = z.infer<typeof WebhookDeliveryView>;

export const WebhookDeliveryListQuery = z.object({
  status: z.enum(['pending', 'delivered', 'dead']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
}).strict();
export type WebhookDeliveryListQuery = z.infer<typeof WebhookDeliveryListQuery>;

/** What a receiver gets (Standard Webhooks payload): `data` is cut to the integration's data profile. */
export const WebhookPayload = z.object({
  type: WebhookEventType,
  /** ISO 8601: when the event happened. */
  timestamp: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;
