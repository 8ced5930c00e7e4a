import type { EncryptedStopField } from '@depotline/shared';
import { loadAccessProfile } from '../access/access-profile';
import { checkPermission, usersAtLocation } from '../access/authorize';
import { insertAlertNotice } from '../auth/security-alerts';
import { reportWithheldRecord, systemActor, type WithheldRecord, withheldAlertDetails, withheldAlertWindowMs } from '../audit/withheld-values';
import type { ServerContext } from '../context';
import type { FieldDecryptFailure } from '../crypto/field-cipher';
import type { Db } from '../db/database';
import { stopPiiColumnName } from './stop-pii';

/**
 * Reports stops whose customer data did not decrypt (audit/withheld-values.ts) without holding
 * up the read that found them: a pull, a broadcast or an export presents the stop with the
 * value withheld and goes on, and the report is written on its own transaction afterwards.
 * A record already reported within the window is not reported again by this process, so a
 * busy location costs no write per pull; across processes the database claim decides. The
 * report is a `security.alert` audit entry naming the stop and a `record_withheld` notice to
 * each user holding `security.read` at its location.
 */

interface Reporter {
  inFlight: Set<Promise<void>>;
  /** `stopId|columns` -> when this process last reported it. */
  recent: Map<string, number>;
  warnedUnknownKey: boolean;
}

const reporters = new WeakMap<ServerContext, Reporter>();
const maxRemembered = 10_000;


function reporterOf(ctx: ServerContext): Reporter {
  let r = reporters.get(ctx);
  if (!r) {
    r = { inFlight: new Set(), recent: new Map(), warnedUnknownKey: false };
    reporters.set(ctx, r);
  }
  return r;
}

export function reportWithheldStop(
  ctx: ServerContext,
  stop: { id: string; locationId: string },
  withheld: Partial<Record<EncryptedStopField, FieldDecryptFailure>>,
): void {
  const columns: Record<string, string> = {};
  for (const [field, reason] of Object.entries(withheld) as [EncryptedStopField, FieldDecryptFailure][]) columns[stopPiiColumnName[field]] = reason;
  const key = `${stop.id}|${Object.keys(columns).sort().join(',')}`;
  const now = ctx.now();
  const reporter = reporterOf(ctx);
  if (!reporter.warnedUnknownKey && Object.values(columns).includes('unknown_key')) {
    // Most often a configuration slip during a key rotation rather than tampering: say so once.
    reporter.warnedUnknownKey = true;
    ctx.log.error('stored values name a field key that is not configured: if the field key was changed, add the previous key file to DEPOTLINE_FIELD_KEY_PREVIOUS_FILES (depotline-admin keys status lists them)', { stopId: stop.id });
  }
  const last = reporter.recent.get(key);
  if (last !== undefined && now - last < withheldAlertWindowMs) return;
  if (reporter.recent.size >= maxRemembered) reporter.recent.clear();
  reporter.recent.set(key, now);
  const done: Promise<void> = reportWithheldStopNow(ctx, { table: 'stops', rowId: stop.id, targetType: 'stop', locationId: stop.locationId, columns }, now)
    .then((raised) => {
      if (raised) ctx.log.error('stop values withheld: they do not decrypt (altered or moved in the database)', { stopId: stop.id, locationId: stop.locationId, columns });
    })
    .catch((err: unknown) => {
      reporter.recent.delete(key); // try again at the next read
      ctx.log.error('could not record withheld stop values', { stopId: stop.id, err: err instanceof Error ? err.message : String(err) });
    })
    .finally(() => reporter.inFlight.delete(done));
  reporter.inFlight.add(done);
}

/**
 * Reports a stop record now (claim, audit entry, notices to its location's security readers) in
 * one transaction; false when it was already reported within the window.
 */
export function reportWithheldStopNow(ctx: ServerContext, record: WithheldRecord, now: number): Promise<boolean> {
  return reportWithheldRecord(ctx.db, record, now, {
    notify: async (trx) => {
      if (record.locationId === null) return;
      const details = { ...withheldAlertDetails(record), rowId: record.rowId, locationId: record.locationId };
      for (const userId of await securityReadersAt(trx, record.locationId, now)) {
        await insertAlertNotice(trx, { userId, kind: 'record_withheld', details, actor: systemActor }, now);
      }
    },
  });
}

async function securityReadersAt(db: Db, locationId: string, now: number): Promise<string[]> {
  const readers: string[] = [];
  for (const userId of await usersAtLocation(db, locationId, now)) {
    const profile = await loadAccessProfile(db, userId, now);
    if (checkPermission(profile, { permission: 'security.read', locationId }, now)) readers.push(userId);
  }
  return readers;
}

/** Resolves once every report started so far is written (tests, and the CLI before it exits). */
export async function withheldReportsSettled(ctx: ServerContext): Promise<void> {
  const reporter = reporters.get(ctx);
  while (reporter && reporter.inFlight.size > 0) await Promise.all([...reporter.inFlight]);
}
