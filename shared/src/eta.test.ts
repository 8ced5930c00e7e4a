import { describe, expect, it } from 'vitest';
import type { StopStatus } from './domain';
import { defaultEtaSettings, drivingMs, EtaSettings, type EtaStop, estimateRouteEtas, haversineKm, isOpenStopStatus, remainingVisits } from './eta';

const now = Date.UTC(2026, 2, 10, 9, 0);
const min = 60_000;
/** 1 km/h per km: easy numbers. 60 km/h, no road factor, 5 min service. */
const settings: EtaSettings = { averageSpeedKmh: 60, serviceMinutes: 5, roadFactor: 1, positionMaxAgeMinutes: 30 };
/** Points along the equator: 1/111.195 degree of longitude is about 1 km. */
const km = (x: number) => ({ lat: 0, lng: x / 111.19508 });
const start = { ...km(0), recordedAt: now - 2 * min };

function stop(id: string, sequence: number, x: number | null, overrides: Partial<EtaStop> = {}): EtaStop {
  return { id, sequence, status: 'planned', window: { start: now, end: now + 4 * 60 * min }, coordinates: x === null ? null : km(x), ...overrides };
}

describe('distance and driving time', () => {
  it('measures great-circle distance: one degree of latitude is about 111 km, London-Paris about 344 km', () => {
    expect(haversineKm({ lat: 0, lng: 0 }, { lat: 1, lng: 0 })).toBeCloseTo(111.195, 2);
    expect(haversineKm({ lat: 51.5074, lng: -0.1278 }, { lat: 48.8566, lng: 2.3522 })).toBeCloseTo(343.5, 0);
    expect(haversineKm({ lat: 53.4, lng: -2.99 }, { lat: 53.4, lng: -2.99 })).toBe(0);
    // Across the antimeridian, not the long way round.
    expect(haversineKm({ lat: 0, lng: 179.5 }, { lat: 0, lng: -179.5 })).toBeCloseTo(111.195, 2);
  });

  it('stretches the distance by the road factor and drives it at the average speed', () => {
    expect(drivingMs(km(0), km(10), settings)).toBeCloseTo(10 * min, -2);
    expect(drivingMs(km(0), km(10), { ...settings, roadFactor: 1.5, averageSpeedKmh: 30 })).toBeCloseTo(30 * min, -2);
  });

  it('keeps settings in sane bounds', () => {
    expect(EtaSettings.safeParse(defaultEtaSettings).success).toBe(true);
    expect(EtaSettings.safeParse({ ...settings, averageSpeedKmh: 0 }).success).toBe(false);
    expect(EtaSettings.safeParse({ ...settings, roadFactor: 0.5 }).success).toBe(false);
    expect(EtaSettings.safeParse({ ...settings, serviceMinutes: -1 }).success).toBe(false);
    expect(EtaSettings.safeParse({ ...settings, extra: 1 }).success).toBe(false);
  });
});

describe('ETAs along a route', () => {
  it('chains driving and service time from the last position, starting now', () => {
    const etas = estimateRouteEtas([stop('a', 0, 10), stop('b', 1, 20), stop('c', 2, 20)], start, now, settings);
    expect(Math.round((etas.get('a')! - now) / min)).toBe(10);
    // 10 min drive + 5 service + 10 min drive.
    expect(Math.round((etas.get('b')! - now) / min)).toBe(25);
    // Same place: no driving, only b's service.
    expect(Math.round((etas.get('c')! - now) / min)).toBe(30);
  });

  it('waits for a window that has not opened yet before serving the stop', () => {
    const etas = estimateRouteEtas([stop('a', 0, 10, { window: { start: now + 60 * min, end: now + 120 * min } }), stop('b', 1, 20)], start, now, settings);
    expect(Math.round((etas.get('a')! - now) / min)).toBe(10);
    // Waits until 60, serves 5, drives 10.
    expect(Math.round((etas.get('b')! - now) / min)).toBe(75);
  });

  it('skips done stops, takes the arrived stop and the one en route first, then the rest in route order', () => {
    const stops = [
      stop('done', 0, 50, { status: 'delivered' }), stop('failed', 1, 60, { status: 'failed' }), stop('cancelled', 2, 70, { status: 'cancelled' }),
      stop('p3', 3, 30), stop('next', 5, 10, { status: 'en_route' }), stop('here', 6, 0, { status: 'arrived' }),
    ];
    expect(remainingVisits(stops).map((s) => s.id)).toEqual(['here', 'next', 'p3']);
    const etas = estimateRouteEtas(stops, start, now, settings);
    expect([...etas.keys()]).toEqual(['next', 'p3']);
    // The arrived stop: 5 min service, then 10 km.
    expect(Math.round((etas.get('next')! - now) / min)).toBe(15);
    expect(Math.round((etas.get('p3')! - now) / min)).toBe(40);
  });

  it('gives no ETA to a stop without coordinates, nor to any stop after it', () => {
    const etas = estimateRouteEtas([stop('a', 0, 10), stop('unknown', 1, null), stop('c', 2, 20)], start, now, settings);
    expect([...etas.keys()]).toEqual(['a']);
    expect(estimateRouteEtas([stop('unknown', 0, null), stop('b', 1, 10)], start, now, settings).size).toBe(0);
  });

  it('an arrived stop without coordinates keeps the walk going from the driver position', () => {
    const etas = estimateRouteEtas([stop('here', 0, null, { status: 'arrived' }), stop('b', 1, 10)], start, now, settings);
    expect(Math.round((etas.get('b')! - now) / min)).toBe(15);
  });

  it('starts no earlier than the position was recorded (a clock ahead of this one)', () => {
    const ahead = { ...start, recordedAt: now + 3 * min };
    expect(Math.round((estimateRouteEtas([stop('a', 0, 10)], ahead, now, settings).get('a')! - now) / min)).toBe(13);
  });

  it('has nothing to estimate on a finished route', () => {
    const statuses: StopStatus[] = ['delivered', 'failed', 'cancelled'];
    expect(estimateRouteEtas(statuses.map((s, i) => stop(s, i, i, { status: s })), start, now, settings).size).toBe(0);
    expect(statuses.some(isOpenStopStatus)).toBe(false);
  });
});
