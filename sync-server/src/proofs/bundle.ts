import type { ProofRecord } from '@depotline/shared';
import { strToU8 } from 'fflate';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { conflict } from '../errors';
import { type BundleFile, manifestName, packBundle, sha256Hex } from './bundle-format';
import { openProof, ProofSealError } from './envelope';
import { presentProof, type ProofRow, proofRowsOfStop } from './records';
import { proofFileStore } from './storage';

/**
 * Builds the sealed dispute bundle of one stop (proofs/bundle-format.ts for the format):
 *
 *   files/<proof id>.jpg|png   every proof file that can still be opened, as stored (re-encoded)
 *   proofs.json                every proof of the stop as the API shows it to `pod.view`, GPS
 *                              stamps included, destroyed ones as records (`readable: false`), and
 *                              for each file whether it is in the bundle and why not
 *   audit.jsonl                the stop's and its proofs' audit entries, oldest first, each with
 *                              its chain hash (checked against the live log with `audit verify`);
 *                              without the IP address and device of the actor (not needed to settle
 *                              a dispute about a delivery)
 *   README.txt                 what this is and how to check it
 *
 * An original with a live redacted copy goes in only for an exporter who may redact (`pod.annotate`);
 * otherwise the copy stands in for it. The caller checks `pod.export` and audits the export.
 */

export interface BuiltBundle {
  stopId: string;
  locationId: string;
  zip: Uint8Array;
  /** SHA-256 of the ZIP as downloaded: the export's audit entry names it. */
  sha256: string;
  proofCount: number;
  fileCount: number;
}

/** A bundle is built in memory: the files of one stop beyond this are refused (a stop holds a few photos). */
const maxBundleFileBytes = 256 * 1024 * 1024;

export const extensionOf = (contentType: string | null) => (contentType === 'image/png' ? 'png' : contentType === 'image/webp' ? 'webp' : 'jpg');

interface BundledProof extends ProofRecord {
  bundled: { path: string } | { path: null; reason: string } | null;
}

export async function openForBundle(ctx: ServerContext, row: ProofRow): Promise<{ bytes: Uint8Array } | { reason: string }> {
  if (row.deleted_at !== null || row.wrapped_key === null) return { reason: 'destroyed: its key was deleted' };
  if (row.storage_key === null) return { reason: 'no stored file' };
  const sealed = await proofFileStore(ctx).get(row.storage_key);
  if (!sealed) return { reason: 'the stored file is missing' };
  try {
    const bytes = openProof(ctx, sealed, row.wrapped_key, row.id);
    // The recorded hash is of the stored image: a mismatch means the store was tampered with.
    if (row.sha256 !== null && sha256Hex(bytes) !== row.sha256) return { reason: 'the stored file does not match its recorded SHA-256' };
    return { bytes };
  } catch (err) {
    if (err instanceof ProofSealError) return { reason: `the stored file does not open (${err.message})` };
    throw err;
  }
}

async function auditLines(db: Db, stopId: string, proofIds: readonly string[]): Promise<string> {
  const rows = await db.selectFrom('audit_log')
    .select(['seq', 'at', 'actor', 'action', 'outcome', 'target_type', 'target_id', 'location_id', 'details', 'prev_hash', 'hash'])
    .where((eb) => eb.or([
      eb.and([eb('target_type', '=', 'stop'), eb('target_id', '=', stopId)]),
      ...(proofIds.length > 0 ? [eb.and([eb('target_type', '=', 'proof'), eb('target_id', 'in', proofIds)])] : []),
    ]))
    .orderBy('seq').limit(20_000).execute();
  return rows.map((r) => {
    let details: unknown = r.details;
    try {
      details = JSON.parse(r.details);
    } catch { /* kept as the stored text */ }
    return JSON.stringify({
      seq: Number(r.seq), at: new Date(Number(r.at)).toISOString(), actor: r.actor, action: r.action, outcome: r.outcome,
      targetType: r.target_type, targetId: r.target_id, locationId: r.location_id, details, prevHash: r.prev_hash, hash: r.hash,
    });
  }).join('\n') + (rows.length > 0 ? '\n' : '');
}

function readme(stopId: string, ctx: ServerContext, createdAt: number): string {
  return [
    `Proof of delivery of stop ${stopId}: a sealed dispute bundle made by Depotline at ${new Date(createdAt).toISOString()}.`,
    '',
    `${manifestName} lists the SHA-256 and size of every other file here and is signed (a C2SP signed note,`,
    `Ed25519) by the server's key "${ctx.checkpointKeys.signer.name}" (key id ${ctx.checkpointKeys.signer.keyId}).`,
    'To check it offline, with the verifier key the operator gives you (depotline-admin audit checkpoint-key):',
    '',
    '  depotline-admin pod verify-bundle <this zip> --public-key <verifier key>',
    '',
    'Any changed byte, added or removed file, or another signing key makes the check fail.',
    'Take the verifier key from the operator, not from this file: whoever altered a bundle could alter this text too.',
    '',
  ].join('\n');
}

/**
 * `originals: false` (an exporter without `pod.annotate`): a proof that has a live redacted copy is
 * bundled as its copy only; the original stays listed as a record, without its file.
 */
export async function buildProofBundle(
  ctx: ServerContext, db: Db, stop: { id: string; locationId: string }, now: number, options: { originals: boolean },
): Promise<BuiltBundle> {
  const rows = await proofRowsOfStop(db, stop.id);
  const redacted = new Set(rows.filter((r) => r.derived_from !== null && r.deleted_at === null).map((r) => r.derived_from));
  const withheld = (row: ProofRow) => !options.originals && redacted.has(row.id);
  const total = rows.reduce((sum, r) => sum + (r.deleted_at === null && !withheld(r) ? Number(r.size_bytes ?? 0) : 0), 0);
  if (total > maxBundleFileBytes) throw conflict(`The proof files of this stop (${total} bytes) are more than one bundle holds (${maxBundleFileBytes} bytes).`);
  const files: BundleFile[] = [];
  const records: BundledProof[] = [];
  for (const row of rows) {
    const record = presentProof(row, ctx);
    if (row.content_type === null && row.storage_key === null) {
      records.push({ ...record, bundled: null });
      continue;
    }
    if (withheld(row)) {
      records.push({ ...record, bundled: { path: null, reason: 'redacted: its redacted copy is bundled instead (the original needs pod.annotate)' } });
      continue;
    }
    const opened = await openForBundle(ctx, row);
    if ('bytes' in opened) {
      const path = `files/${row.id}.${extensionOf(row.content_type)}`;
      files.push({ path, bytes: opened.bytes });
      records.push({ ...record, bundled: { path } });
    } else {
      records.push({ ...record, bundled: { path: null, reason: opened.reason } });
    }
  }
  const fileCount = files.length;
  files.push(
    { path: 'proofs.json', bytes: strToU8(JSON.stringify({ stopId: stop.id, locationId: stop.locationId, proofs: records }, null, 2) + '\n') },
    { path: 'audit.jsonl', bytes: strToU8(await auditLines(db, stop.id, rows.map((r) => r.id))) },
    { path: 'README.txt', bytes: strToU8(readme(stop.id, ctx, now)) },
  );
  const zip = packBundle({ stopId: stop.id, locationId: stop.locationId, createdAt: now }, files, ctx.checkpointKeys.signer);
  return { stopId: stop.id, locationId: stop.locationId, zip, sha256: sha256Hex(zip), proofCount: rows.length, fileCount };
}
