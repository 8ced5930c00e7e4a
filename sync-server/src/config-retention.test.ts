import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';
import { globalRetention } from './retention/policy';

/** DEPOTLINE_RETENTION_*: defaults, bounds, and a clear startup error naming a bad setting. */
describe('retention settings', () => {
  it('defaults: contact 90 (at most 365), delivery 730 (3650), proof 180 (730), tracking link 30 (90), position history 30 (90), session 30, audit 2555', () => {
    const g = globalRetention(loadConfig({}));
    expect(g.location).toEqual({ contactDays: 90, deliveryDays: 730, proofDays: 180, trackingLinkDays: 30, positionHistoryDays: 30 });
    expect(g.maxDays).toEqual({ contactDays: 365, deliveryDays: 3650, proofDays: 730, trackingLinkDays: 90, positionHistoryDays: 90 });
    expect(g).toMatchObject({ sessionDays: 30, auditDays: 2555, integrationLogDays: 90 });
  });

  it('takes whole days within 1..3650; a maximum below its default is raised to it only when unset', () => {
    const g = globalRetention(loadConfig({ DEPOTLINE_RETENTION_CONTACT_DAYS: '400', DEPOTLINE_RETENTION_PROOF_MAX_DAYS: '3650', DEPOTLINE_RETENTION_AUDIT_DAYS: '365' }));
    expect(g.location.contactDays).toBe(400);
    expect(g.maxDays.contactDays).toBe(400);
    expect(g.maxDays.proofDays).toBe(3650);
    expect(g.auditDays).toBe(365);
  });

  it.each([
    ['DEPOTLINE_RETENTION_CONTACT_DAYS', '0'],
    ['DEPOTLINE_RETENTION_DELIVERY_DAYS', '36500'],
    ['DEPOTLINE_RETENTION_PROOF_DAYS', '-5'],
    ['DEPOTLINE_RETENTION_TRACKING_LINK_DAYS', '1.5'],
    ['DEPOTLINE_RETENTION_POSITION_HISTORY_MAX_DAYS', 'forever'],
    ['DEPOTLINE_RETENTION_SESSION_DAYS', '0'],
    ['DEPOTLINE_RETENTION_AUDIT_DAYS', '364'],
  ])('%s=%s stops the server with a message naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('a maximum below the default is refused, naming both settings', () => {
    expect(() => loadConfig({ DEPOTLINE_RETENTION_CONTACT_DAYS: '100', DEPOTLINE_RETENTION_CONTACT_MAX_DAYS: '50' }))
      .toThrow(/DEPOTLINE_RETENTION_CONTACT_MAX_DAYS \(50\) is below DEPOTLINE_RETENTION_CONTACT_DAYS \(100\)/);
  });
});
