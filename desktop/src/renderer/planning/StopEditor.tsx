import { useEffect, useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { failureReasonText, type LocationView, type StopOrderView } from '@depotline/shared';
import { call } from '../bridge';
import { useQuery } from '../console/hooks';
import { statusLabel } from '../format';
import { useAction } from '../security/use-action';
import { changedFields, draftOf, newStopDraft, orderOfDraft, type DraftErrors, type DraftField, type FormScope, type StopDraft } from './stop-form';

export type StopEditorTarget = { kind: 'new'; routeId: string; date: string } | { kind: 'edit'; stopId: string };

/**
 * Creating or editing a stop with the order it carries. Controls the user may not use are not
 * shown (billing without `stop.readBilling`, notes without `stop.readNotes`); the phone number
 * and email are revealed (an audited read) before they can be changed. Problems are named next
 * to their field; a refusal keeps everything typed.
 */
export function StopEditor({ target, location, dataVersion, onClose, onSaved }: {
  target: StopEditorTarget;
  location: LocationView;
  dataVersion: number;
  onClose: () => void;
  onSaved: (view: StopOrderView) => void;
}) {
  const tz = location.timezone;
  const fetched = useQuery(
    () => (target.kind === 'edit' ? call('stopOrder', { stopId: target.stopId }) : Promise.resolve(null)),
    [target.kind === 'edit' ? target.stopId : null, dataVersion],
  );
  const view = fetched.data ?? null;
  const [revealed, setRevealed] = useState<{ phone: string | null; email?: string | null | undefined } | null>(null);
  const [draft, setDraft] = useState<StopDraft | null>(target.kind === 'new' ? newStopDraft(target.date, tz) : null);
  const [errors, setErrors] = useState<DraftErrors>({});
  const action = useAction();
  const reveal = useAction();

  // The form starts from the stop once it is read; later syncs do not overwrite what is typed.
  useEffect(() => {
    if (view && draft === null) setDraft(draftOf(view, tz, revealed));
  }, [view, draft, tz, revealed]);

  const held = location.permissions;
  const scope: FormScope = useMemo(() => ({
    notes: target.kind === 'new' ? held.includes('stop.readNotes') : (view?.canEditNotes ?? false),
    contact: target.kind === 'new' ? held.includes('stop.readPhone') : revealed !== null,
    billing: target.kind === 'new' ? held.includes('stop.readBilling') : (view?.canEditBilling ?? false),
  }), [target.kind, view, revealed, held]);

  if (target.kind === 'edit' && !view) return <p className="empty-state">{fetched.error ?? 'Loading…'}</p>;
  if (!draft) return <p className="empty-state">Loading…</p>;
  const editable = target.kind === 'new' || (view?.canEdit ?? false);
  const field = (name: DraftField) => ({
    value: draft[name] as string,
    onChange: (e: { target: { value: string } }) => setDraft({ ...draft, [name]: e.target.value }),
    'aria-invalid': errors[name] ? true : undefined,
    'data-testid': `stop-${name}`,
    disabled: !editable,
  });

  async function revealContact() {
    if (target.kind !== 'edit') return;
    await reveal.run(async () => {
      const r = await call('revealStopPhone', { stopId: target.stopId });
      setRevealed(r);
      setDraft((d) => (d ? { ...d, phone: r.phone ?? '', email: r.email ?? '' } : d));
    });
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!draft) return;
    const { order, errors: found } = orderOfDraft(draft, tz, scope);
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    void action.run(async () => {
      if (target.kind === 'new') {
        const created = await call('createStop', { routeId: target.routeId, order: { ...order, customerName: order.customerName!, address: order.address!, window: order.window! } });
        onSaved(created);
        return;
      }
      const before = orderOfDraft(draftOf(view!, tz, revealed), tz, scope).order;
      const changes = changedFields(order, before);
      if (Object.keys(changes).length === 0) return onSaved(view!);
      const saved = await call('updateStop', { stopId: target.stopId, changes });
      setDraft(draftOf(saved, tz, revealed));
      onSaved(saved);
    });
  }

  const s = view?.stop;
  return (
    <form className="stop-editor form" onSubmit={submit} data-testid="stop-editor" data-mode={target.kind} noValidate>
      <div className="detail-head">
        <div>
          <div className="muted">{target.kind === 'new' ? 'New stop' : `${view?.routeName ?? 'Route'} · stop ${(s?.sequence ?? 0) + 1}`}</div>
          <h2>{target.kind === 'new' ? 'New stop' : (s?.customerName ?? 'Stop')}</h2>
        </div>
        <button type="button" className="icon-button" aria-label="Close the editor" onClick={onClose}>×</button>
      </div>
      {s && (
        <p className="stop-status-line" data-testid="stop-editor-status">
          {statusLabel[s.status]}
          {s.failureReason && <> · <strong data-testid="stop-editor-failure">{failureReasonText[s.failureReason]}</strong>{s.failureNote ? <>: {s.failureNote}</> : null}</>}
          {(view?.pendingEdits ?? 0) > 0 && <span className="pending-note">waiting to sync</span>}
        </p>
      )}
      <Section title="Order">
        <Field label="Order reference" error={errors.orderRef}><input {...field('orderRef')} maxLength={64} /></Field>
        <Field label="Parcels" error={errors.parcelCount}><input {...field('parcelCount')} inputMode="numeric" /></Field>
        <Field label="Barcodes (one per line)" error={errors.barcodes} wide><textarea {...field('barcodes')} rows={2} /></Field>
        <Field label="Minimum age (regulated goods)" error={errors.minimumAge}><input {...field('minimumAge')} inputMode="numeric" placeholder="none" /></Field>
        <label className="check">
          <input type="checkbox" checked={draft.idCheck} disabled={!editable} onChange={(e) => setDraft({ ...draft, idCheck: e.target.checked })} data-testid="stop-idCheck" />
          ID check at the door
        </label>
        <label className="check">
          <input type="checkbox" checked={draft.pinRequired} disabled={!editable} onChange={(e) => setDraft({ ...draft, pinRequired: e.target.checked })} data-testid="stop-pinRequired" />
          Delivery PIN (the customer gives it at the door)
        </label>
      </Section>
      <Section title="Customer">
        <Field label="Customer" error={errors.customerName}><input {...field('customerName')} maxLength={200} required /></Field>
        <Field label="Address" error={errors.address} wide><input {...field('address')} maxLength={500} required /></Field>
        <Field label="Latitude" error={errors.lat}><input {...field('lat')} inputMode="decimal" placeholder="51.5072" /></Field>
        <Field label="Longitude" error={errors.lng}><input {...field('lng')} inputMode="decimal" placeholder="-0.1276" /></Field>
        {scope.contact ? (
          <>
            <Field label="Phone" error={errors.phone}><input {...field('phone')} type="tel" /></Field>
            <Field label="Email" error={errors.email}><input {...field('email')} type="email" /></Field>
          </>
        ) : view?.phone !== undefined && (
          <div className="field wide">
            <span>Phone and email</span>
            <span>
              <span className="phone-masked" aria-label="hidden">••• ••• ••••</span>{' '}
              <button type="button" className="reveal" disabled={reveal.busy} onClick={() => void revealContact()} data-testid="stop-reveal-contact" title="Revealing is recorded in the depot's audit log">
                Reveal to edit
              </button>
              {reveal.error && <span className="form-error" role="alert">{reveal.error}</span>}
            </span>
          </div>
        )}
      </Section>
      <Section title="When">
        <Field label="Window opens" error={errors.windowStart} wide><input {...field('windowStart')} type="datetime-local" /></Field>
        <Field label="Window closes" error={errors.windowEnd} wide><input {...field('windowEnd')} type="datetime-local" /></Field>
      </Section>
      {scope.notes && (
        <Section title="Delivery notes">
          <Field label="Notes" error={errors.notes} wide><textarea {...field('notes')} maxLength={2000} rows={3} /></Field>
        </Section>
      )}
      {scope.billing && (
        <Section title="Billing">
          <Field label="Payment reference" error={errors.paymentRef}><input {...field('paymentRef')} maxLength={100} /></Field>
          <Field label="Currency" error={errors.currency}><input {...field('currency')} maxLength={3} placeholder="EUR" /></Field>
          <Field label="To collect" error={errors.codAmount}><input {...field('codAmount')} inputMode="decimal" placeholder="0.00" /></Field>
          <Field label="Delivery fee" error={errors.deliveryFee}><input {...field('deliveryFee')} inputMode="decimal" placeholder="0.00" /></Field>
        </Section>
      )}
      {Object.keys(errors).length > 0 && <p className="form-error" role="alert" data-testid="stop-editor-invalid">Some fields need a look: see the notes under them.</p>}
      {action.error && <p className="form-error" role="alert" data-testid="stop-editor-error">{action.error}</p>}
      {editable && (
        <div className="actions">
          <button type="button" onClick={onClose}>Close</button>
          <button type="submit" className="primary" disabled={action.busy} data-testid="stop-save">{target.kind === 'new' ? 'Add stop' : 'Save stop'}</button>
        </div>
      )}
    </form>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <fieldset className="editor-section">
      <legend>{title}</legend>
      <div className="editor-grid">{children}</div>
    </fieldset>
  );
}

function Field({ label, error, wide, children }: { label: string; error: string | undefined; wide?: boolean; children: ReactNode }) {
  return (
    <label className={`field ${wide ? 'wide' : ''}`}>
      <span>{label}</span>
      {children}
      {error && <span className="field-error" role="alert">{error}</span>}
    </label>
  );
}
