import { missingForDelivery, StopDetailView } from '@depotline/shared';
import { describe, expect, it } from 'vitest';
import { buildRoute, buildStop } from '../../core/testing/fixtures';
import { toStopDetail } from './console-views';

/** The stop detail carries the PIN requirement and the door state (never a PIN), so the panel lists what is missing. */
describe('stop detail: the door', () => {
  const route = buildRoute('loc-1');
  const permissions = new Set(['location.read', 'stop.setStatus'] as const);

  it('a PIN and age stop: both missing until done, in the server\u2019s words; nothing more once done', () => {
    const stop = buildStop('loc-1', route.id, { status: 'arrived', pinRequired: true, minimumAge: 18, handover: { pinVerified: false, pinLocked: false, checkPassed: false } });
    const detail = toStopDetail({ stop, permissions, route, driverName: null, pendingEdits: 0 });
    expect(StopDetailView.safeParse(detail).success).toBe(true);
    expect(detail.stop).toMatchObject({ pinRequired: true, handover: { pinVerified: false } });
    expect(missingForDelivery(detail.stop)).toEqual(['The customer\u2019s delivery PIN has not been verified.', 'No passing age check (18+) is recorded.']);
    const done = toStopDetail({ stop: { ...stop, handover: { pinVerified: true, pinLocked: false, checkPassed: true } }, permissions, route, driverName: null, pendingEdits: 0 });
    expect(missingForDelivery(done.stop)).toEqual([]);
  });

  it('a stop from an older cache (no PIN field) shows no requirement', () => {
    const stop = buildStop('loc-1', route.id);
    const detail = toStopDetail({ stop, permissions, route, driverName: null, pendingEdits: 0 });
    expect(detail.stop).not.toHaveProperty('pinRequired');
    expect(missingForDelivery(detail.stop)).toEqual([]);
  });
});
