import crypto from 'node:crypto';
import type { ProofRecord } from '@depotline/shared';
import { strToU8, zipSync } from 'fflate';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { conflict } from '../errors';
import { encodeCsv } from '../exports/encode';
import { extensionOf, openForBundle } from '../proofs/bundle';
import { presentProof, type ProofRow } from '../proofs/records';
import { customerKeys } from './blind-index';
import { type CustomerStop, findCustomerStops } from './customers';
import { auditRequestStep, loadPrivacyRequest, locationIdsOf, type PrivacyCall, requireOpen, requireSubject, subjectLookup, updatePrivacyRequest } from './requests';

/**
 * The right of access (GDPR Art. 15 and 20, CCPA right to know): one customer's data at the
 * request's locations as a ZIP an admin hands over:
 *
 *   customer.json     every stop with its customer and delivery data, its proofs (as records),
 *                     the customer's consents and sharing flags: machine-readable (Art. 20)
 *   stops.csv         the same stops as a sheet, every cell neutralised against CSV injection
 *                     (exports/encode.ts, the export files' encoder)
 *   proofs/<id>.<ext> each proof file that still opens, decrypted; where a redacted copy exists it
 *                     stands in for its original (the blurred parts show someone else, Art. 15(4))
 *   README.txt        what the files are
 *
 * Staff are named by neither the stops nor the proofs (who changed a stop, who captured a proof):
 * their identity is not the customer's data. The export is audited (counts and the ZIP's SHA-256).
 */

export interface AccessExport {
  fileName: string;
  zip: Uint8Array;
  stopCount: number;
  proofCount: number;
}

/** The ZIP is built in memory: the proof files of one customer beyond this are refused. */
const maxFileBytes = 256 * 1024 * 1024;

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

function stopRecord(s: CustomerStop) {
  const r = s.row;
  return {
    stopId: r.id,
    locationId: r.location_id,
    orderRef: r.order_ref,
    status: r.status,
    windowStart: iso(r.window_start),
    windowEnd: iso(r.window_end),
    customerName: s.pii.customerName ?? null,
    address: s.pii.address ?? null,
    phone: s.pii.phone ?? null,
    email: s.pii.email ?? null,
    notes: s.pii.notes ?? null,
    coordinates: s.pii.coordinates ?? null,
    parcelCount: Number(r.parcel_count),
    paymentRef: s.pii.paymentRef ?? null,
    codAmount: r.cod_amount === null ? null : Number(r.cod_amount),
    deliveryFee: r.delivery_fee === null ? null : Number(r.delivery_fee),
    currency: r.currency,
    failureReason: r.failure_reason,
    failureNote: s.pii.failureNote ?? null,
    lastUpdated: iso(r.updated_at),
  };
}

type StopRecord = ReturnType<typeof stopRecord>;
const csvColumns = ['stopId', 'locationId', 'orderRef', 'status', 'windowStart', 'windowEnd', 'customerName', 'address', 'phone', 'email', 'notes',
  'latitude', 'longitude', 'parcelCount', 'paymentRef', 'codAmount', 'deliveryFee', 'currency', 'failureReason', 'failureNote', 'lastUpdated'] as const;

function csvRow(s: StopRecord): (string | number | null)[] {
  return csvColumns.map((c) => {
    if (c === 'latitude') return s.coordinates?.lat ?? null;
    if (c === 'longitude') return s.coordinates?.lng ?? null;
    const v = s[c];
    return typeof v === 'string' || typeof v === 'number' ? v : null;
  });
}

/** A proof as the customer receives it: without who captured it. */
const customerProof = ({ capturedBy: _staff, ...rest }: ProofRecord) => rest;

async function customerRecords(db: Db, keys: string[], locationIds: string[]) {
  if (keys.length === 0) return { consents: [], sharing: [] };
  const consents = await db.selectFrom('customer_consents').select(['location_id', 'purpose', 'granted', 'source', 'recorded_at'])
    .where('customer_key', 'in', keys).where('location_id', 'in', locationIds).orderBy('recorded_at').execute();
  const flags = await db.selectFrom('customer_flags').select(['location_id', 'do_not_sell', 'updated_at'])
    .where('customer_key', 'in', keys).where('location_id', 'in', locationIds).execute();
  return {
    consents: consents.map((c) => ({ locationId: c.location_id, purpose: c.purpose, granted: Number(c.granted) === 1, source: c.source, recordedAt: iso(c.recorded_at) })),
    sharing: flags.map((f) => ({ locationId: f.location_id, doNotSellOrShare: Number(f.do_not_sell) === 1, updatedAt: iso(f.updated_at) })),
  };
}

export async function buildAccessExport(call: PrivacyCall, id: string): Promise<AccessExport> {
  const { ctx, db, now } = call;
  const row = await loadPrivacyRequest(call, id, 'privacy.request.accessExport');
  requireOpen(row, ['access'], 'an access export');
  const subject = requireSubject(ctx, row);
  const locationIds = locationIdsOf(row);
  const stops = await findCustomerStops(ctx, subjectLookup(subject), locationIds, { db });
  const proofRows: ProofRow[] = [];
  for (let i = 0; i < stops.length; i += 500) {
    proofRows.push(...await db.selectFrom('proofs').selectAll().where('stop_id', 'in', stops.slice(i, i + 500).map((s) => s.row.id))
      .orderBy('server_time').orderBy('id').execute());
  }
  const files = await proofFiles(ctx, proofRows);
  const records = stops.map(stopRecord);
  const keys = Object.values(customerKeys(ctx, subjectLookup(subject))).filter((k): k is string => k !== null);
  const proofsByStop = new Map<string, unknown[]>();
  for (const p of proofRows) {
    proofsByStop.set(p.stop_id, [...(proofsByStop.get(p.stop_id) ?? []), { ...customerProof(presentProof(p, ctx)), file: files.paths.get(p.id) ?? null }]);
  }
  const json = {
    request: { id: row.id, kind: row.kind, law: row.law, receivedAt: iso(row.received_at) },
    generatedAt: iso(now),
    locations: locationIds,
    stops: records.map((s) => ({ ...s, proofs: proofsByStop.get(s.stopId) ?? [] })),
    ...await customerRecords(db, keys, locationIds),
  };
  const csv = encodeCsv({
    header: [['Customer data export', row.id], ['Generated', iso(now)!], ['Locations', locationIds.join(' ')]],
    columns: csvColumns,
    rows: records.map(csvRow),
  });
  const mtime = new Date(now);
  const tree: Record<string, [Uint8Array, { mtime: Date; level: 0 | 6 }]> = {
    'README.txt': [strToU8(readme(row.id, now)), { mtime, level: 6 }],
    'customer.json': [strToU8(JSON.stringify(json, null, 2) + '\n'), { mtime, level: 6 }],
    'stops.csv': [new Uint8Array(csv), { mtime, level: 6 }],
  };
  for (const f of files.entries) tree[f.path] = [f.bytes, { mtime, level: 0 }];
  const zip = zipSync(tree);
  const sha256 = crypto.createHash('sha256').update(zip).digest('hex');
  const counts = { stops: stops.length, proofs: proofRows.length, proofFiles: files.entries.length, consents: json.consents.length, sharingFlags: json.sharing.length };
  await updatePrivacyRequest(call, row, { action: { action: 'accessExport', at: now, by: call.actor.label, counts } });
  await auditRequestStep(call, row, 'privacy.request.accessExport', { ...counts, sha256 });
  return { fileName: `privacy-access-${row.id}.zip`, zip, stopCount: stops.length, proofCount: proofRows.length };
}

/** The files that still open; a redacted copy replaces its original. */
async function proofFiles(ctx: ServerContext, rows: readonly ProofRow[]) {
  const redacted = new Set(rows.filter((r) => r.derived_from !== null && r.deleted_at === null).map((r) => r.derived_from));
  const wanted = rows.filter((r) => r.storage_key !== null && r.deleted_at === null && !redacted.has(r.id));
  const total = wanted.reduce((n, r) => n + Number(r.size_bytes ?? 0), 0);
  if (total > maxFileBytes) throw conflict(`The customer's proof files (${total} bytes) are more than one export holds (${maxFileBytes} bytes): narrow the request's locations.`);
  const entries: { path: string; bytes: Uint8Array }[] = [];
  const paths = new Map<string, string>();
  for (const r of wanted) {
    const opened = await openForBundle(ctx, r);
    if (!('bytes' in opened)) continue;
    const path = `proofs/${r.id}.${extensionOf(r.content_type)}`;
    entries.push({ path, bytes: opened.bytes });
    paths.set(r.id, path);
  }
  return { entries, paths };
}

function readme(requestId: string, now: number): string {
  return [
    `The personal data Depotline holds about one customer, exported for privacy request ${requestId} at ${new Date(now).toISOString()}.`,
    '',
    'customer.json  every delivery (stop) of the customer with its contact and delivery details, its proof-of-delivery',
    '               records, and the customer\'s consents and "do not sell or share" choice, machine-readable.',
    'stops.csv      the same deliveries as a spreadsheet. A cell that begins with = + - @ or a quote has one extra',
    '               leading quote so no spreadsheet runs it as a formula; drop that quote to get the value.',
    'proofs/        the proof-of-delivery photos and signatures that still exist (parts showing other people blurred',
    '               where a blurred copy was made).',
    '',
  ].join('\n');
}
