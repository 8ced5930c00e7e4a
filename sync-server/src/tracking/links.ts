import crypto from 'node:crypto';
import type { TrackingLinkInfo, TrackingLinkOrigin } from '@depotline/shared';
import type { Selectable } from 'kysely';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import type { Database } from '../db/schema';
import { fieldAad } from '../crypto/field-cipher';
import type { DomainEvent } from '../webhooks/outbox';

/**
 * Customer tracking links: made, listed, revoked, found by token (docs/security-model.md,
 * "Customer tracking links"). A token is 32 random bytes (256 bits), base64url; only its SHA-256
 * is stored, and a link is found by that hash, so the database never holds a working link and a
 * lookup compares no secret byte by byte. The token is handed out once: to the dispatcher who
 * made the link, or in the `tracking_link.created` webhook of a link made at dispatch.
 */

export type TrackingLinkRow = Selectable<Database['tracking_links']>;

export const newTrackingToken = (): string => crypto.randomBytes(32).toString('base64url');
export const trackingTokenHash = (token: string): string => crypto.createHash('sha256').update(token).digest('hex');

/** The public origin links are made with: DEPOTLINE_TRACKING_BASE_URL, or the server's own address. */
export function trackingBaseUrl(ctx: ServerContext): string {
  if (ctx.config.tracking.baseUrl) return ctx.config.tracking.baseUrl;
  const scheme = ctx.config.tls ? 'https' : 'http';
  const host = ctx.config.host.includes(':') && !ctx.config.host.startsWith('[') ? `[${ctx.config.host}]` : ctx.config.host;
  return `${scheme}://${host}:${ctx.config.port}`;
}

export const trackingUrl = (ctx: ServerContext, token: string): string => `${trackingBaseUrl(ctx)}/t/${token}`;

const finalStatuses = new Set(['delivered', 'cancelled']);

/** When a link made now expires: its maximum age, or sooner when the stop is already done. */
function expiryOf(ctx: ServerContext, stopStatus: string, now: number): number {
  const { maxAgeMs, afterFinalMs } = ctx.config.tracking;
  return finalStatuses.has(stopStatus) ? Math.min(now + maxAgeMs, now + afterFinalMs) : now + maxAgeMs;
}

export interface NewTrackingLink {
  stopId: string;
  locationId: string;
  stopStatus: string;
  origin: TrackingLinkOrigin;
  createdBy: string | null;
}

/** Makes a link inside the caller's transaction; the token is returned once and kept nowhere. */
export async function createTrackingLink(trx: Db, ctx: ServerContext, link: NewTrackingLink, now: number): Promise<{ row: TrackingLinkRow; token: string }> {
  const token = newTrackingToken();
  const row: TrackingLinkRow = {
    id: crypto.randomUUID(), token_hash: trackingTokenHash(token), stop_id: link.stopId, location_id: link.locationId,
    origin: link.origin, created_by: link.createdBy, created_at: now, expires_at: expiryOf(ctx, link.stopStatus, now),
    revoked_at: null, revoked_by: null,
  };
  await trx.insertInto('tracking_links').values(row).execute();
  return { row, token };
}

/**
 * The `tracking_link.created` webhook event. Its address is the one thing an integration needs
 * (to send it to the customer) and the outbox keeps no secret in the clear: it is stored
 * field-encrypted, bound to the link, and opened when the delivery is sent (webhooks/payload.ts).
 */
export function trackingLinkCreatedEvent(ctx: ServerContext, row: TrackingLinkRow, token: string): DomainEvent {
  return {
    type: 'tracking_link.created', locationId: row.location_id, stopId: row.stop_id, occurredAt: row.created_at,
    data: { linkId: row.id, expiresAt: row.expires_at, urlEnc: ctx.cipher.encrypt(trackingUrl(ctx, token), trackingUrlAad(row.id)) },
  };
}

export const trackingUrlAad = (linkId: string) => fieldAad('webhook_deliveries', 'tracking_url', linkId);

/** The address sealed in a `tracking_link.created` event, or null when it does not open. */
export function openTrackingUrl(ctx: ServerContext, data: Record<string, unknown>): string | null {
  const { linkId, urlEnc } = data;
  if (typeof linkId !== 'string' || typeof urlEnc !== 'string') return null;
  const opened = ctx.cipher.tryDecrypt(urlEnc, trackingUrlAad(linkId));
  return opened.ok ? opened.value : null;
}

export function linkState(row: Pick<TrackingLinkRow, 'revoked_at' | 'expires_at'>, now: number): TrackingLinkInfo['state'] {
  if (row.revoked_at !== null) return 'revoked';
  return Number(row.expires_at) <= now ? 'expired' : 'active';
}

type LabelledRow = TrackingLinkRow & { created_by_label: string | null; revoked_by_label: string | null };

export function presentTrackingLink(row: LabelledRow, now: number): TrackingLinkInfo {
  return {
    id: row.id, stopId: row.stop_id, origin: row.origin, state: linkState(row, now),
    createdAt: Number(row.created_at), createdBy: row.created_by_label, expiresAt: Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at), revokedBy: row.revoked_by_label,
  };
}

/** The links of a stop, newest first, with the names of who made and revoked them. */
export async function listTrackingLinks(db: Db, where: { stopId?: string; linkId?: string }): Promise<LabelledRow[]> {
  let q = db.selectFrom('tracking_links as l')
    .leftJoin('users as c', 'c.id', 'l.created_by')
    .leftJoin('users as r', 'r.id', 'l.revoked_by')
    .selectAll('l')
    .select(['c.username as created_by_label', 'r.username as revoked_by_label'])
    .orderBy('l.created_at', 'desc').orderBy('l.id');
  if (where.stopId !== undefined) q = q.where('l.stop_id', '=', where.stopId);
  if (where.linkId !== undefined) q = q.where('l.id', '=', where.linkId);
  return q.execute();
}

/** Ends a link now; false when it was already revoked. */
export async function revokeTrackingLink(trx: Db, linkId: string, by: string, now: number): Promise<boolean> {
  const r = await trx.updateTable('tracking_links').set({ revoked_at: now, revoked_by: by })
    .where('id', '=', linkId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** The link a token opens, if it is neither revoked nor expired. */
export async function findActiveLink(db: Db, token: string, now: number): Promise<TrackingLinkRow | null> {
  const row = await db.selectFrom('tracking_links').selectAll().where('token_hash', '=', trackingTokenHash(token)).executeTakeFirst();
  return row && linkState(row, now) === 'active' ? row : null;
}

/** A stop was delivered or cancelled: its links end `afterFinal` from now (never later than they would have). */
export async function shortenLinksOfFinishedStops(trx: Db, ctx: ServerContext, stopIds: readonly string[], now: number): Promise<void> {
  if (stopIds.length === 0) return;
  const until = now + ctx.config.tracking.afterFinalMs;
  await trx.updateTable('tracking_links').set({ expires_at: until })
    .where('stop_id', 'in', [...stopIds]).where('revoked_at', 'is', null).where('expires_at', '>', until).execute();
}
