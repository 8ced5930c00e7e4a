import { describe, expect, it } from 'vitest';
import {
  allPermissions, canTransitionStop, isFinalStopStatus, Mutation, mutationPermission, mutationTypes, permissionCatalogue,
  failureReasonRefusal, mutationPermissions, PullRequest, PushRequest, redactStopForViewer, roleNames, roleTemplates, selfOnlyPermissions,
  type Stop, StopStatus, stopOrderProblems, stopTransitions, machinePermissions, userPermissions,
} from './index';

const stop: Stop = {
  id: 's1', locationId: 'depot-a', routeId: 'r1', sequence: 0, customerName: 'Ada Customer', address: '1 Road', phone: '+49 30 123456',
  notes: 'dog', window: { start: 1, end: 2 }, status: 'planned', eta: null, version: 3, updatedAt: 1, updatedBy: null,
  orderRef: 'SO-1', parcelCount: 2, barcodes: ['A1', 'A2'], coordinates: { lat: 52.5, lng: 13.4 }, email: 'ada@example.com',
  minimumAge: 18, idCheck: true, paymentRef: 'PAY-9', codAmount: 1250, deliveryFee: 499, currency: 'EUR',
  failureReason: null, failureNote: null,
};

describe('stop state machine', () => {
  it('allows only the listed transitions, and final states allow none', () => {
    for (const from of StopStatus.options) {
      for (const to of StopStatus.options) {
        expect(canTransitionStop(from, to)).toBe(stopTransitions[from].includes(to));
      }
      expect(canTransitionStop(from, from)).toBe(false);
    }
    expect(isFinalStopStatus('delivered')).toBe(true);
    expect(isFinalStopStatus('cancelled')).toBe(true);
    expect(canTransitionStop('planned', 'delivered')).toBe(false);
  });
});

describe('permission catalogue', () => {
  it('every role template names only catalogued permissions and grants no role wider than itself', () => {
    for (const role of roleNames) {
      const t = roleTemplates[role];
      for (const p of t.permissions) expect(Object.keys(permissionCatalogue)).toContain(p);
      for (const granted of t.mayGrant) {
        for (const p of roleTemplates[granted].permissions) {
          if (!selfOnlyPermissions.includes(p)) expect(t.permissions).toContain(p);
        }
      }
    }
    expect(roleTemplates.admin.permissions).toEqual(userPermissions);
    // Machine permissions belong to integrations: no role template holds one.
    for (const role of roleNames) for (const p of machinePermissions) expect(roleTemplates[role].permissions).not.toContain(p);
    expect(allPermissions.filter((p) => !userPermissions.includes(p)).sort()).toEqual([...machinePermissions].sort());
  });

  it('finance and reporting cannot see notes or phones; contractors always expire', () => {
    for (const role of ['finance', 'reporting'] as const) {
      expect(roleTemplates[role].permissions).not.toContain('stop.readNotes');
      expect(roleTemplates[role].permissions).not.toContain('stop.readPhone');
    }
    expect(roleTemplates.contractor.mustExpire).toBe(true);
  });

  it('MFA is required by default for admin, manager and dispatcher', () => {
    expect(roleNames.filter((r) => roleTemplates[r].mfaRequired)).toEqual(['admin', 'manager', 'dispatcher']);
  });

  it('every mutation type maps to a permission', () => {
    for (const t of mutationTypes) expect(allPermissions).toContain(mutationPermission[t]);
  });
});

describe('redaction', () => {
  it('removes the fields a viewer may not see, and keeps the rest', () => {
    const finance = redactStopForViewer(stop, new Set(roleTemplates.finance.permissions));
    expect(finance).not.toHaveProperty('notes');
    expect(finance).not.toHaveProperty('phone');
    expect(finance).not.toHaveProperty('email');
    expect(finance).not.toHaveProperty('failureNote');
    expect(finance.customerName).toBe('Ada Customer');
    expect(finance).toMatchObject({ paymentRef: 'PAY-9', codAmount: 1250, deliveryFee: 499, currency: 'EUR' });
    const dispatcher = redactStopForViewer(stop, new Set(roleTemplates.dispatcher.permissions));
    for (const f of ['paymentRef', 'codAmount', 'deliveryFee', 'currency']) expect(dispatcher).not.toHaveProperty(f);
    expect(dispatcher).toMatchObject({ email: 'ada@example.com', coordinates: { lat: 52.5, lng: 13.4 }, notes: 'dog' });
    const reporting = redactStopForViewer(stop, new Set(roleTemplates.reporting.permissions));
    expect(Object.keys(reporting).sort()).toEqual([
      'barcodes', 'eta', 'failureReason', 'id', 'idCheck', 'locationId', 'minimumAge', 'orderRef', 'parcelCount', 'routeId', 'sequence',
      'status', 'updatedAt', 'updatedBy', 'version', 'window',
    ]);
    expect(redactStopForViewer(stop, new Set(allPermissions))).toEqual(stop);
    expect(stop.notes).toBe('dog'); // the input is not modified
  });
});

describe('schemas at the trust boundary', () => {
  const base = { id: '6f1e2a0c-8a51-4bd4-9a7e-5c1b1f3b2a10', locationId: 'depot-a', createdAt: 1 };
  it('accepts a well-formed mutation and refuses unknown types, extra stop.update fields and bad ids', () => {
    expect(Mutation.safeParse({ ...base, type: 'stop.setStatus', stopId: 's1', to: 'en_route' }).success).toBe(true);
    expect(Mutation.safeParse({ ...base, type: 'stop.delete', stopId: 's1' }).success).toBe(false);
    expect(Mutation.safeParse({ ...base, type: 'stop.update', stopId: 's1', changes: { status: 'delivered' } }).success).toBe(false);
    expect(Mutation.safeParse({ ...base, type: 'stop.update', stopId: 's1', changes: {} }).success).toBe(false);
    expect(Mutation.safeParse({ ...base, id: 'not-a-uuid', type: 'stop.setStatus', stopId: 's1', to: 'en_route' }).success).toBe(false);
    expect(Mutation.safeParse({ ...base, locationId: '../etc', type: 'stop.setStatus', stopId: 's1', to: 'en_route' }).success).toBe(false);
  });

  it('bounds pushes and pulls', () => {
    const m = { ...base, type: 'stop.setStatus', stopId: 's1', to: 'en_route' };
    expect(PushRequest.safeParse({ mutations: [] }).success).toBe(false);
    expect(PushRequest.safeParse({ mutations: Array(201).fill(m) }).success).toBe(false);
    expect(PullRequest.safeParse({ locationId: 'depot-a', after: -1 }).success).toBe(false);
    expect(PullRequest.safeParse({ locationId: 'depot-a', after: 0, limit: 5000 }).success).toBe(false);
  });

  it('reads order data: bounded, unique barcodes, coordinates in range, money in whole minor units', () => {
    const create = {
      ...base, type: 'stop.create', stopId: 's2', routeId: 'r1', sequence: 1, customerName: 'B', address: '2 Road', phone: null, notes: '',
      window: { start: 1, end: 2 },
    };
    expect(Mutation.safeParse(create).success).toBe(true);
    expect(Mutation.safeParse({ ...create, orderRef: 'SO-2', barcodes: ['X1'], coordinates: { lat: 1, lng: 2 }, codAmount: 100, currency: 'EUR' }).success).toBe(true);
    expect(Mutation.safeParse({ ...create, barcodes: ['X1', 'X1'] }).success).toBe(false);
    expect(Mutation.safeParse({ ...create, barcodes: Array.from({ length: 201 }, (_, i) => `B${i}`) }).success).toBe(false);
    expect(Mutation.safeParse({ ...create, coordinates: { lat: 91, lng: 0 } }).success).toBe(false);
    expect(Mutation.safeParse({ ...create, codAmount: -1, currency: 'EUR' }).success).toBe(false);
    expect(Mutation.safeParse({ ...create, codAmount: 12.5, currency: 'EUR' }).success).toBe(false);
    expect(Mutation.safeParse({ ...create, currency: 'euro' }).success).toBe(false);
    expect(Mutation.safeParse({ ...create, orderRef: ' SO-2' }).success).toBe(false);
    expect(Mutation.safeParse({ ...create, email: 'not an email' }).success).toBe(false);
    expect(stopOrderProblems({ codAmount: 100, currency: null })).toEqual(['An amount needs a currency.']);
    expect(stopOrderProblems({ codAmount: 100, currency: 'EUR' })).toEqual([]);
  });

  it('billing data needs stop.readBilling to be set; a create with none does not', () => {
    const create = Mutation.parse({
      ...base, type: 'stop.create', stopId: 's2', routeId: 'r1', sequence: 1, customerName: 'B', address: '2 Road', phone: null, notes: '',
      window: { start: 1, end: 2 }, paymentRef: null,
    });
    expect(mutationPermissions(create)).toEqual(['stop.edit']);
    expect(mutationPermissions({ ...create, codAmount: 5, currency: 'EUR' } as Mutation)).toEqual(['stop.edit', 'stop.readBilling']);
    const clear = Mutation.parse({ ...base, type: 'stop.update', stopId: 's1', changes: { paymentRef: null } });
    expect(mutationPermissions(clear)).toEqual(['stop.edit', 'stop.readBilling']);
  });

  it('a failed delivery carries a reason from the list, and nothing else does', () => {
    expect(Mutation.safeParse({ ...base, type: 'stop.setStatus', stopId: 's1', to: 'failed', failureReason: 'lost' }).success).toBe(false);
    expect(failureReasonRefusal('failed', undefined)).toMatch(/needs a reason/);
    expect(failureReasonRefusal('failed', 'customer_absent')).toBeNull();
    expect(failureReasonRefusal('delivered', 'refused')).toMatch(/Only a failed/);
    expect(failureReasonRefusal('delivered', undefined)).toBeNull();
  });

  it('refuses time windows that end before they start', () => {
    expect(Mutation.safeParse({ ...base, type: 'stop.update', stopId: 's1', changes: { window: { start: 10, end: 5 } } }).success).toBe(false);
  });
});
