import { useEffect, useState } from 'react';
import type { ApprovalView, ConsoleProofView, ConsoleStopProofs, ProofKind, ProofSummary } from '@depotline/shared';
import { call, messageOf } from '../bridge';
import { dateTimeAt } from '../format';
import { useQuery } from './hooks';

const kindLabel: Readonly<Record<ProofKind, string>> = {
  photo: 'Photo', signature: 'Signature', pin: 'Delivery PIN', barcode: 'Parcel scan', gps: 'GPS stamp', check: 'Age/ID check', refusal: 'Refused handover',
};

/**
 * The stop's proof of delivery, asked of the server through main when the stop opens. With
 * `pod.view` the proofs themselves (a photo or signature only when asked for: each view is
 * recorded in the depot's audit log); without it (finance, reporting) only that a proof exists.
 * An image is held in memory as a blob: URL while it is shown and released when it is hidden.
 */
export function ProofPanel({ stopId, timeZone, dataVersion }: { stopId: string; timeZone: string; dataVersion: number }) {
  const fetched = useQuery(() => call('stopProofs', { stopId }), [stopId, dataVersion]);
  const data = fetched.data?.stopId === stopId ? fetched.data : undefined;
  if (!data) {
    return (
      <section className="proofs" data-testid="proofs" data-access="loading">
        <h3>Proof of delivery</h3>
        <p className={fetched.error ? 'form-error' : 'muted'}>{fetched.error ?? 'Loading…'}</p>
      </section>
    );
  }
  return (
    <section className="proofs" data-testid="proofs" data-access={data.access}>
      <h3>Proof of delivery</h3>
      <SummaryLine summary={data.summary} />
      {data.access === 'full' && data.cachedAt != null && (
        <p className="muted" data-testid="proofs-offline">Offline copy from {dateTimeAt(data.cachedAt, timeZone)}: the server cannot be reached.</p>
      )}
      {data.access === 'summary'
        ? <p className="muted" data-testid="proofs-summary-only">Your access shows that a proof exists, not its content.</p>
        : <FullProofs data={data} timeZone={timeZone} />}
    </section>
  );
}

function SummaryLine({ summary }: { summary: ProofSummary }) {
  if (!summary.present) return <p className="muted" data-testid="proofs-summary">No proof recorded yet.</p>;
  const parts = [
    `Proof recorded: ${summary.kinds.map((k) => kindLabel[k].toLowerCase()).join(', ')}`,
    summary.pinVerified ? 'PIN verified' : null,
    summary.checkRecorded ? 'check recorded' : null,
  ].filter(Boolean);
  return (
    <p data-testid="proofs-summary">
      {parts.join(' · ')}
      {summary.suspicious && <span className="proof-suspicious" data-testid="proofs-suspicious"> · suspicious position</span>}
    </p>
  );
}

function FullProofs({ data, timeZone }: { data: Extract<ConsoleStopProofs, { access: 'full' }>; timeZone: string }) {
  const [exported, setExported] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function exportBundle() {
    setBusy(true);
    setError(null);
    try {
      const result = await call('exportProofBundle', { stopId: data.stopId });
      setExported(result.outcome === 'saved' ? `Sealed bundle saved: ${result.path}` : null);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      {data.proofs.length > 0 && (
        <ul className="proof-list" data-testid="proof-list">
          {data.proofs.map((p) => <ProofItem key={p.id} stopId={data.stopId} proof={p} timeZone={timeZone} canDelete={data.canDelete} />)}
        </ul>
      )}
      {data.canExport && data.proofs.length > 0 && (
        <div className="actions">
          <button
            type="button" disabled={busy} onClick={() => void exportBundle()} data-testid="proof-export"
            title="A ZIP of the files, their SHA-256 manifest and the stop's audit entries, signed by the server; the export is recorded in the audit log"
          >
            Export sealed bundle
          </button>
        </div>
      )}
      {exported && <p className="notice" role="status" data-testid="proof-exported">{exported}</p>}
      {error && <p className="form-error" role="alert">{error}</p>}
    </>
  );
}

function ProofItem({ stopId, proof, timeZone, canDelete }: { stopId: string; proof: ConsoleProofView; timeZone: string; canDelete: boolean }) {
  const [deleting, setDeleting] = useState(false);
  const [waiting, setWaiting] = useState<ApprovalView | null>(null);
  const facts = [
    proof.detail || null,
    proof.gps ? `${proof.gps.lat.toFixed(5)}, ${proof.gps.lng.toFixed(5)} ±${Math.round(proof.gps.accuracyM)} m` : null,
    proof.distanceM !== null ? `${proof.distanceM} m from the stop` : null,
  ].filter(Boolean);
  return (
    <li className={`proof-item${proof.suspicious ? ' suspicious' : ''}`} data-testid="proof-item" data-kind={proof.kind} data-proof-id={proof.id}>
      <div className="proof-head">
        <strong>{kindLabel[proof.kind]}{proof.derivedFrom ? ' (redacted copy)' : ''}</strong>
        <span className="muted"> · {proof.capturedBy} · {dateTimeAt(proof.serverTime, timeZone)}</span>
        {proof.deviceTime !== null && Math.abs(proof.deviceTime - proof.serverTime) > 120_000 && (
          <span className="muted" title="The device's clock when it was captured"> (device: {dateTimeAt(proof.deviceTime, timeZone)})</span>
        )}
      </div>
      {facts.length > 0 && <div className="proof-facts">{facts.join(' · ')}</div>}
      {proof.suspicious && <div className="proof-suspicious" data-testid="proof-suspicious">Suspicious: captured far from the stop. The depot&apos;s managers were alerted.</div>}
      {proof.destroyed && <div className="muted" data-testid="proof-destroyed">File deleted: it can never be shown again.</div>}
      {proof.hasFile && <ProofImage stopId={stopId} proof={proof} />}
      {waiting ? (
        <p className="notice" role="status" data-testid="proof-delete-waiting">
          Deletion asked: waiting for a second person&apos;s approval (until {dateTimeAt(waiting.expiresAt, timeZone)}).
        </p>
      ) : canDelete && !proof.destroyed && (
        deleting
          ? <DeleteRequest proofId={proof.id} onCancel={() => setDeleting(false)} onSent={(a) => { setDeleting(false); setWaiting(a); }} />
          : <button type="button" className="link-button" onClick={() => setDeleting(true)} data-testid="proof-delete">Ask to delete…</button>
      )}
    </li>
  );
}

/** The image, fetched through main when asked for; the blob: URL lives while it is shown. */
function ProofImage({ stopId, proof }: { stopId: string; proof: ConsoleProofView }) {
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => () => { if (url) URL.revokeObjectURL(url); }, [url]);

  async function show() {
    setBusy(true);
    setError(null);
    try {
      const file = await call('proofFile', { stopId, proofId: proof.id });
      setUrl(URL.createObjectURL(blobOf(file.dataUrl, file.contentType)));
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  }

  if (url) {
    return (
      <div className="proof-image">
        <img src={url} alt={`${kindLabel[proof.kind]} captured at the door`} data-testid="proof-image" />
        <button type="button" className="link-button" onClick={() => setUrl(null)}>Hide</button>
      </div>
    );
  }
  return (
    <div className="proof-image">
      <button type="button" disabled={busy} onClick={() => void show()} data-testid="proof-show" title="Viewing a proof is recorded in the depot's audit log">
        Show {proof.kind}
      </button>
      {error && <p className="form-error" role="alert">{error}</p>}
    </div>
  );
}

function DeleteRequest({ proofId, onCancel, onSent }: { proofId: string; onCancel: () => void; onSent: (a: ApprovalView) => void }) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function send() {
    setBusy(true);
    setError(null);
    try {
      onSent(await call('requestProofDeletion', { proofId, reason }));
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  }

  return (
    <div className="proof-delete-form">
      <label>
        Why delete it? A second person approves; then its key is destroyed and the file can never be read again.
        <textarea value={reason} maxLength={1000} rows={2} onChange={(e) => setReason(e.target.value)} data-testid="proof-delete-reason" />
      </label>
      <div className="actions">
        <button type="button" onClick={onCancel}>Cancel</button>
        <button type="button" className="danger" disabled={busy || reason.trim().length < 3} onClick={() => void send()} data-testid="proof-delete-send">
          Send for approval
        </button>
      </div>
      {error && <p className="form-error" role="alert">{error}</p>}
    </div>
  );
}

/** A data: URL's bytes as a Blob, decoded here (the page may not fetch, not even a data: URL). */
function blobOf(dataUrl: string, contentType: string): Blob {
  const base64 = dataUrl.slice(dataUrl.indexOf(',') + 1);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Blob([bytes], { type: contentType });
}
