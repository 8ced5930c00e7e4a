import {
  ConsoleStopProofs, MaxProofsShown, type BridgeArgs, type ConsoleProofFile, type ConsoleProofView, type ProofBundleResult, type ProofRecord,
} from '@depotline/shared';
import { ServerUnreachableError } from '../../core';
import { ConsoleError } from './console-error';
import type { ActiveSession } from './console-session';
import { permissionsOf } from './console-views';
import { writeExport, type ChooseSavePath } from './export-save';
import { toApprovalView } from './governance-views';
import { translatorFor } from './server-refusal';

export interface ConsoleProofsOptions {
  /** The unlocked session; throws ConsoleError `locked` or `not_signed_in` otherwise. */
  session: () => ActiveSession;
  /** A bundle export or a deletion request counts as activity for the idle lock. */
  activity: () => void;
  /** Where the user saves a bundle; absent: this console cannot save files. */
  chooseSavePath: ChooseSavePath | undefined;
  /**
   * Managed policy `podOfflineCache` (default false). False: a proof file lives only in memory,
   * in the answer to the page; nothing of it is written to the local database or to disk.
   */
  offlineCache: boolean;
}

/**
 * The stop detail's proof of delivery, asked of the server with this session's token
 * (core/sync/proofs-client.ts) when the detail opens: with `pod.view` at the stop's depot the
 * proofs themselves, without it (finance, reporting) the summary only — that a proof exists.
 * A file is fetched when the page asks for it (the server audits each view) and handed to the
 * page as a data URL; this object keeps nothing of it. Only when the managed policy allows an
 * offline cache are the lists and files shown also kept in the encrypted local database, and read
 * from there while the server cannot be reached; otherwise a leftover copy is emptied once per session.
 */
export class ConsoleProofs {
  readonly #o: ConsoleProofsOptions;
  /** Sessions whose leftover offline copy was emptied (the policy does not allow one). */
  readonly #cleared = new WeakSet<ActiveSession>();

  constructor(options: ConsoleProofsOptions) {
    this.#o = options;
  }

  async stopProofs(args: BridgeArgs<'stopProofs'>): Promise<ConsoleStopProofs> {
    const session = this.#o.session();
    await this.#clearUnlessAllowed(session);
    const { stop, permissions } = await this.#stopAccess(session, args.stopId);
    const client = session.client.proofs;
    if (!permissions.has('pod.view')) {
      const { summary } = await translate(client.summary(args.stopId));
      return { access: 'summary', stopId: args.stopId, summary };
    }
    let got;
    try {
      got = await translate(client.stopProofs(args.stopId));
    } catch (err) {
      const cached = err instanceof ServerUnreachableError && this.#o.offlineCache ? await session.store.proofCache(`list:${args.stopId}`) : null;
      const parsed = cached ? ConsoleStopProofs.safeParse(JSON.parse(Buffer.from(cached.body).toString('utf8'))) : null;
      if (!cached || !parsed?.success || parsed.data.access !== 'full') throw err;
      return { ...parsed.data, canExport: false, canDelete: false, cachedAt: cached.cachedAt };
    }
    const view: ConsoleStopProofs = {
      access: 'full', stopId: got.stopId, summary: got.summary,
      proofs: got.proofs.slice(-MaxProofsShown).map(toProofView),
      canExport: permissions.has('pod.export'), canDelete: permissions.has('pod.delete'), offlineCache: this.#o.offlineCache,
    };
    if (this.#o.offlineCache) {
      await session.store.putProofCache({
        key: `list:${stop.id}`, locationId: stop.locationId, stopId: stop.id, contentType: 'application/json',
        body: Buffer.from(JSON.stringify(view), 'utf8'), cachedAt: Date.now(),
      });
    }
    return view;
  }

  async proofFile(args: BridgeArgs<'proofFile'>): Promise<ConsoleProofFile> {
    const session = this.#o.session();
    const { stop, permissions } = await this.#stopAccess(session, args.stopId);
    if (!permissions.has('pod.view')) throw new ConsoleError('forbidden', 'Your access at this depot shows that a proof exists, not its content.');
    let file;
    try {
      file = await translate(session.client.proofs.file(args.proofId));
    } catch (err) {
      const cached = err instanceof ServerUnreachableError && this.#o.offlineCache ? await session.store.proofCache(`file:${args.proofId}`) : null;
      if (!cached || cached.stopId !== stop.id) throw err;
      return { ...toProofFile(args.proofId, cached.contentType, cached.body, ''), fromCache: true };
    }
    if (this.#o.offlineCache) {
      await session.store.putProofCache({
        key: `file:${args.proofId}`, locationId: stop.locationId, stopId: stop.id, contentType: file.contentType, body: file.bytes, cachedAt: Date.now(),
      });
    }
    return toProofFile(args.proofId, file.contentType, file.bytes, file.sha256);
  }

  /** Without the policy's allowance, a copy left from when it was allowed goes, once per session. */
  async #clearUnlessAllowed(session: ActiveSession): Promise<void> {
    if (this.#o.offlineCache || this.#cleared.has(session)) return;
    this.#cleared.add(session);
    await session.store.clearProofCache();
  }

  async exportProofBundle(args: BridgeArgs<'exportProofBundle'>): Promise<ProofBundleResult> {
    const session = this.#o.session();
    const { permissions } = await this.#stopAccess(session, args.stopId);
    if (!permissions.has('pod.export')) throw new ConsoleError('forbidden', 'Your access at this depot does not include exporting proof of delivery.');
    const choose = this.#o.chooseSavePath;
    if (!choose) throw new ConsoleError('forbidden', 'This console cannot save files. Export from a Depotline console on a computer.');
    // The server audits the export when it builds the bundle, so the file is asked for only once a place is chosen.
    const target = await choose({ fileName: `proof-bundle-${args.stopId}.zip`, format: 'zip' });
    if (target === null) return { outcome: 'cancelled' };
    const bundle = await translate(session.client.proofs.bundle(args.stopId));
    await writeExport(target, bundle.bytes);
    this.#o.activity();
    return { outcome: 'saved', path: target, bytes: bundle.bytes.byteLength };
  }

  async requestProofDeletion(args: BridgeArgs<'requestProofDeletion'>) {
    const session = this.#o.session();
    const approval = await translate(session.client.proofs.requestDeletion(args.proofId, args.reason));
    const locations = await session.store.locations();
    this.#o.activity();
    return toApprovalView(approval, new Map(locations.map((l) => [l.id, l.name])));
  }

  /** The user's permissions at the stop's depot, as this computer last synced them (the server decides again). */
  async #stopAccess(session: ActiveSession, stopId: string) {
    const stop = await session.store.stop(stopId);
    if (!stop) throw new ConsoleError('not_found', 'That stop is not on this device any more.');
    const location = (await session.store.locations()).find((l) => l.id === stop.locationId);
    if (!location) throw new ConsoleError('forbidden', 'That depot is not available on this device.');
    return { stop, permissions: permissionsOf(location) };
  }
}

function toProofFile(proofId: string, contentType: string, bytes: Uint8Array, sha256: string): ConsoleProofFile {
  if (contentType !== 'image/jpeg' && contentType !== 'image/png') {
    throw new ConsoleError('server_error', 'The server sent a proof file of a type this console does not show.');
  }
  const dataUrl = `data:${contentType};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
  return { proofId, contentType, dataUrl, sha256: sha256.slice(0, 64), fromCache: false };
}

/** What the stop detail shows of a proof's operational detail, in words (never customer data). */
export function proofDetailWords(record: Pick<ProofRecord, 'kind' | 'detail'>): string {
  const d = record.detail;
  const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : null);
  switch (record.kind) {
    case 'barcode': {
      const scanned = text(d['scanned']);
      const expected = text(d['expected']);
      return [text(d['barcode']), scanned !== null && expected !== null ? `${scanned} of ${expected} parcels scanned` : null].filter(Boolean).join(' · ');
    }
    case 'pin': return d['verified'] === true ? 'PIN verified' : 'PIN';
    case 'check': {
      const over = d['overThreshold'] === undefined ? null : d['overThreshold'] === true ? 'over the age threshold' : 'under the age threshold';
      return [text(d['checkKind']), text(d['documentType']), text(d['result']), over].filter(Boolean).join(' · ');
    }
    case 'refusal': return text(d['reason']) ?? 'handover refused';
    case 'photo':
    case 'signature':
    case 'gps':
      return '';
  }
}

export function toProofView(r: ProofRecord): ConsoleProofView {
  return {
    id: r.id, kind: r.kind, capturedBy: r.capturedBy.slice(0, 256), serverTime: r.serverTime, deviceTime: r.deviceTime,
    gps: r.gps ?? null, distanceM: r.distanceM, suspicious: r.suspicious,
    hasFile: r.file !== null && r.readable, destroyed: r.file !== null && !r.readable, derivedFrom: r.derivedFrom,
    detail: proofDetailWords(r).slice(0, 300), size: r.file?.size ?? null, sha256: r.file?.sha256.slice(0, 64) ?? null,
  };
}

/** The server's refusals here, in words; anything else goes to the console's common translation. */
const translate = translatorFor({
  forbidden: ['forbidden', 'The server did not let you do that: your access at this depot does not cover this proof of delivery.'],
  not_found: ['not_found', 'That proof or its file is no longer there (a deleted proof can never be shown again). Refresh the stop.'],
});
