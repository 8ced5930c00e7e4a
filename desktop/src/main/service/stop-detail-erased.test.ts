import { type Permission, permissionsOfRole, type Stop, StopDetailView, StopRowView } from '@depotline/shared';
import { describe, expect, it } from 'vitest';
import { buildRoute, buildStop, pseudonymisedChange } from '../../core/testing/fixtures';
import { toStopDetail, toStopRow } from './console-views';

/**
 * A stop whose customer details were erased (retention or a privacy request) says so in the
 * detail and on its board row, for every viewer; a stop under a legal hold says that, and only that.
 */
describe('stop detail and row: erased and held stops', () => {
  const route = buildRoute('loc-1');
  const dispatcher = permissionsOfRole('dispatcher');
  const reporting = permissionsOfRole('reporting');
  const erased = (stop: Stop): Stop => pseudonymisedChange(stop, stop.version + 1).data as Stop;
  const detailOf = (stop: Stop, permissions: ReadonlySet<Permission>) =>
    toStopDetail({ stop, permissions, route, driverName: null, pendingEdits: 0 });

  it('a pseudonymised stop: flagged, no phone to reveal, no notes to write, the delivery record kept', () => {
    const stop = erased(buildStop('loc-1', route.id, { status: 'delivered' }));
    const detail = detailOf(stop, dispatcher);
    expect(StopDetailView.safeParse(detail).success).toBe(true);
    expect(detail).toMatchObject({ pseudonymised: true, held: false, phone: 'none', canEditNotes: false });
    expect(detail.stop).not.toHaveProperty('customerName');
    expect(detail.stop).not.toHaveProperty('address');
    expect(detail.stop).toMatchObject({ status: 'delivered', orderRef: stop.orderRef, parcelCount: 1 });
    // A viewer who could not see the customer anyway is told the same: erased, not hidden.
    expect(detailOf(stop, reporting)).toMatchObject({ pseudonymised: true, held: false });
  });

  it('a live stop is neither: the phone to reveal and the notes editor as before', () => {
    const detail = detailOf(buildStop('loc-1', route.id), dispatcher);
    expect(detail).toMatchObject({ pseudonymised: false, held: false, phone: 'masked' });
    expect(detail.canEditNotes).toBe(dispatcher.has('stop.editNotes'));
  });

  it('a held stop is flagged held, erased or not (the view has no field for the hold\u2019s reason)', () => {
    const held = buildStop('loc-1', route.id, { held: true });
    const detail = detailOf(held, dispatcher);
    expect(StopDetailView.safeParse(detail).success).toBe(true);
    expect(detail).toMatchObject({ held: true, pseudonymised: false, stop: { customerName: held.customerName } });
    expect(detailOf({ ...erased(held), held: true }, reporting)).toMatchObject({ held: true, pseudonymised: true });
  });

  it('board rows mark an erased stop and leave the others as they were', () => {
    const live = buildStop('loc-1', route.id);
    const row = toStopRow(erased(live), dispatcher, false);
    expect(StopRowView.safeParse(row).success).toBe(true);
    expect(row).toMatchObject({ id: live.id, pseudonymised: true });
    expect(row).not.toHaveProperty('customerName');
    expect(toStopRow(live, dispatcher, false)).not.toHaveProperty('pseudonymised');
  });
});
