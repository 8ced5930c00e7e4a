import { failureReasonRefusal, redactStopForViewer, type Stop, stopOrderProblems, stopTransitionRefusal } from '@depotline/shared';
import { LocalEditRefusedError } from '../errors';
import { asStop, clip, type OptimisticHandlers, requireExisting, statusText, type TargetEntity } from './handler';

/** Stop edits on this device: status (the shared state machine), notes, details, creation. */

function editStop(e: TargetEntity | null, edit: (s: Stop) => Stop): Stop | null {
  const stop = asStop(e);
  return stop ? edit(stop) : null;
}

export const stopEdits = {
  'stop.setStatus': {
    // As the server stores it: a failed stop keeps why, leaving `failed` clears it.
    apply: (m, current) => editStop(current, (s) => ({
      ...s, status: m.to, updatedAt: m.createdAt,
      failureReason: m.to === 'failed' ? (m.failureReason ?? null) : null,
      ...(s.failureNote !== undefined ? { failureNote: m.to === 'failed' ? (m.reason ?? null) : null } : {}),
    })),
    check(m, current) {
      const stop = requireExisting(asStop(current), 'stop', m.stopId);
      const refusal = stopTransitionRefusal(stop.status, m.to);
      if (refusal) throw new LocalEditRefusedError('invalid_transition', refusal);
      const missing = failureReasonRefusal(m.to, m.failureReason);
      if (missing) throw new LocalEditRefusedError('bad_request', missing);
      return Promise.resolve();
    },
    describe: (m) => `status: ${statusText(m.to)}${m.failureReason ? ` (${m.failureReason.replace(/_/g, ' ')})` : ''}`,
  },
  'stop.editNotes': {
    apply: (m, current) => editStop(current, (s) => ({ ...s, notes: m.notes, updatedAt: m.createdAt })),
    check(m, current) {
      requireExisting(asStop(current), 'stop', m.stopId);
      return Promise.resolve();
    },
    describe: (m) => `notes: “${clip(m.notes, 500)}”`,
    describeCurrent(_m, current, permissions) {
      if (current.entity !== 'stop') return null;
      const { notes } = redactStopForViewer(current.data, permissions);
      return notes !== undefined ? `notes: “${clip(notes, 500)}”` : 'notes are not visible to you';
    },
  },
  'stop.update': {
    apply: (m, current) => editStop(current, (s) => ({ ...s, ...m.changes, updatedAt: m.createdAt })),
    check(m, current) {
      const stop = requireExisting(asStop(current), 'stop', m.stopId);
      // An amount needs a currency, on the stop as it would be (a field this user cannot see counts as unknown: the server decides).
      const problems = stopOrderProblems({ ...stop, ...m.changes });
      if (problems.length > 0 && stop.currency !== undefined) throw new LocalEditRefusedError('bad_request', problems.join(' '));
      return Promise.resolve();
    },
    describe: (m) => `changes to ${Object.keys(m.changes).join(', ')}`,
  },
  'stop.create': {
    apply(m, current) {
      if (current) return current;
      const stop: Stop = {
        id: m.stopId, locationId: m.locationId, routeId: m.routeId, sequence: m.sequence,
        customerName: m.customerName, address: m.address, phone: m.phone, notes: m.notes, window: m.window,
        status: 'planned', eta: null, version: 0, updatedAt: m.createdAt, updatedBy: null,
        // The order as the server will store it: what the mutation says, the defaults otherwise.
        orderRef: m.orderRef ?? null, parcelCount: m.parcelCount ?? 1, barcodes: m.barcodes ?? [], coordinates: m.coordinates ?? null,
        email: m.email ?? null, minimumAge: m.minimumAge ?? null, idCheck: m.idCheck ?? false,
        paymentRef: m.paymentRef ?? null, codAmount: m.codAmount ?? null, deliveryFee: m.deliveryFee ?? null, currency: m.currency ?? null,
        failureReason: null, failureNote: null,
      };
      return stop;
    },
    async check(m, current, lookup) {
      if (current) throw new LocalEditRefusedError('already_exists', `stop ${m.stopId} already exists`);
      const problems = stopOrderProblems(m);
      if (problems.length > 0) throw new LocalEditRefusedError('bad_request', problems.join(' '));
      const route = await lookup('route', m.routeId);
      if (!route || route.locationId !== m.locationId) {
        throw new LocalEditRefusedError('not_found', `route ${m.routeId} is not known at this location`);
      }
    },
    describe: (m) => `new stop for ${clip(m.customerName, 200)}`,
  },
  'stop.revealPhone': {
    // A sensitive read, queued only so the server audits it, with its time, once it is sent:
    // the record stays exactly as it is.
    apply: (_m, current) => current,
    check(m, current) {
      requireExisting(asStop(current), 'stop', m.stopId);
      return Promise.resolve();
    },
    describe: () => 'revealing the phone number',
  },
} satisfies Pick<OptimisticHandlers, 'stop.setStatus' | 'stop.editNotes' | 'stop.update' | 'stop.create' | 'stop.revealPhone'>;
