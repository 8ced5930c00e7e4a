import { z } from 'zod';

/**
 * Customer tracking links (docs/api.md "Customer tracking links"): a public page per stop at
 * `/t/<token>`, no sign-in. What the page and its status endpoint may carry is this view and
 * nothing else: no id, no name of a person, no phone, no note, no other stop, no route.
 */

/** What the customer is told, derived from the stop's status and its route's progress. */
export const trackingStatuses = ['scheduled', 'out_for_delivery', 'on_the_way', 'arrived', 'delivered', 'not_delivered', 'cancelled'] as const;
export type TrackingStatus = (typeof trackingStatuses)[number];

export const trackingStatusText: Readonly<Record<TrackingStatus, string>> = {
  scheduled: 'Scheduled for delivery',
  out_for_delivery: 'Out for delivery',
  on_the_way: 'On the way to you: you are the next stop',
  arrived: 'The driver has arrived',
  delivered: 'Delivered',
  not_delivered: 'Not delivered: the depot will be in touch',
  cancelled: 'Cancelled',
};

/** The public view of an active link (the status endpoint's body, and what the page renders). */
export interface TrackingView {
  active: true;
  depot: string;
  /** The depot's IANA time zone: window and ETA are shown in it. */
  timezone: string;
  status: TrackingStatus;
  statusText: string;
  window: { start: number; end: number };
  /** Estimated arrival (ms since the epoch), null when none can be given or the stop is done. */
  eta: number | null;
  /** The delivery PIN to give the driver, when the order requires one and the stop is still open. */
  pin: string | null;
  /** While out for delivery: how many stops the driver visits before this one. */
  stopsBefore: number | null;
  /** Only when the depot allows it and this stop is next: the driver's distance, rounded to 0.5 km. */
  approxDistanceKm: number | null;
  /** When this view was made (ms since the epoch). */
  asOf: number;
}

/** What an unknown, expired or revoked link gets: the same for all three, nothing about the order. */
export interface TrackingInactive {
  active: false;
}

export const trackingLinkOrigins = ['auto', 'dispatcher'] as const;
export type TrackingLinkOrigin = (typeof trackingLinkOrigins)[number];

/** A link as a dispatcher sees it (never its token: that is shown once, at creation). */
export const TrackingLinkInfo = z.object({
  id: z.string().max(64),
  stopId: z.string().max(64),
  origin: z.enum(trackingLinkOrigins),
  state: z.enum(['active', 'expired', 'revoked']),
  createdAt: z.number().int(),
  createdBy: z.string().max(256).nullable(),
  expiresAt: z.number().int(),
  revokedAt: z.number().int().nullable(),
  revokedBy: z.string().max(256).nullable(),
});
export type TrackingLinkInfo = z.infer<typeof TrackingLinkInfo>;

/** The answer to a dispatcher's create: the link and, this once, its address. */
export const TrackingLinkCreated = z.object({ link: TrackingLinkInfo, url: z.string().url().max(2048) });
export type TrackingLinkCreated = z.infer<typeof TrackingLinkCreated>;

export const TrackingLinkCreate = z.object({}).strict();
export const TrackingLinkRevoke = z.object({}).strict();

/** A token: 32 random bytes, base64url without padding. Anything else is not a token. */
export const trackingTokenPattern = /^[A-Za-z0-9_-]{43}$/;
