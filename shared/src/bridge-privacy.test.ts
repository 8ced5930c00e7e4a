import { describe, expect, it } from 'vitest';
import { bridgeCalls, type BridgeCallName } from './index';

const at = { locationId: 'depot-north' };
const parses = <K extends BridgeCallName>(name: K, args: unknown) => bridgeCalls[name].args.safeParse(args).success;

describe('the Privacy screen\'s bridge contract', () => {
  it('finds a customer only by a phone number or an email address, never by nothing', () => {
    expect(parses('searchCustomer', { ...at, customer: { phone: '+44 7700 900123' } })).toBe(true);
    expect(parses('searchCustomer', { ...at, customer: { email: 'kim@example.com' } })).toBe(true);
    expect(parses('searchCustomer', { ...at, customer: {} })).toBe(false);
    expect(parses('searchCustomer', { ...at, customer: { name: 'Kim Doe' } })).toBe(false);
    expect(parses('searchCustomer', { ...at, customer: { email: 'not an address' } })).toBe(false);
  });

  it('erases only with the admin\'s explicit yes', () => {
    expect(parses('erasePrivacyRequest', { ...at, requestId: 'pr1', confirm: true })).toBe(true);
    expect(parses('erasePrivacyRequest', { ...at, requestId: 'pr1' })).toBe(false);
    expect(parses('erasePrivacyRequest', { ...at, requestId: 'pr1', confirm: false })).toBe(false);
    expect(parses('erasePrivacyRequest', { ...at, requestId: 'pr1', confirm: true, mode: 'shred' })).toBe(false);
  });

  it('takes a consent\'s source from the list, never as free text that could hold personal data', () => {
    const consent = { ...at, customer: { email: 'kim@example.com' }, purpose: 'trackingSms', granted: true };
    expect(parses('recordCustomerConsent', { ...consent, source: 'phone' })).toBe(true);
    expect(parses('recordCustomerConsent', { ...consent, source: 'Kim said so on 0770 900123' })).toBe(false);
    expect(parses('recordCustomerConsent', { ...consent, source: 'phone', purpose: 'marketing' })).toBe(false);
  });

  it('refuses a period of zero days or of a hundred years, and a class the depot does not set', () => {
    expect(parses('setDepotRetention', { ...at, class: 'contact', days: 30 })).toBe(true);
    expect(parses('setDepotRetention', { ...at, class: 'contact', days: 0 })).toBe(false);
    expect(parses('setDepotRetention', { ...at, class: 'contact', days: 36_500 })).toBe(false);
    expect(parses('setDepotRetention', { ...at, class: 'audit', days: 400 })).toBe(false);
    expect(parses('setDepotRetention', { ...at, class: 'proof', days: 1.5 })).toBe(false);
  });

  it('places a hold on the depot, a stop, or one customer named by one phone or one email, with a reason and an owner', () => {
    const words = { reason: 'claim 2026-114 pending', owner: 'Legal: claims desk' };
    expect(parses('placeLegalHold', { ...at, ...words, target: { scope: 'location' } })).toBe(true);
    expect(parses('placeLegalHold', { ...at, ...words, target: { scope: 'stop', stopId: 's1' } })).toBe(true);
    expect(parses('placeLegalHold', { ...at, ...words, target: { scope: 'customer', customer: { phone: '07700 900123' } } })).toBe(true);
    expect(parses('placeLegalHold', { ...at, ...words, target: { scope: 'customer', customer: { phone: '07700 900123', email: 'kim@example.com' } } })).toBe(false);
    expect(parses('placeLegalHold', { ...at, ...words, target: { scope: 'stop' } })).toBe(false);
    expect(parses('placeLegalHold', { ...at, owner: words.owner, target: { scope: 'location' } })).toBe(false);
    expect(parses('placeLegalHold', { ...at, reason: words.reason, owner: '', target: { scope: 'location' } })).toBe(false);
    expect(parses('releaseLegalHold', { ...at, holdId: 'h1' })).toBe(false);
  });

  it('registers a request with a kind and a law the register knows, and closes it with a listed reason', () => {
    const request = { kind: 'access', law: 'ccpa', subject: { email: 'kim@example.com', customerName: 'Kim Doe' }, reference: 'TICKET-88' };
    expect(parses('createPrivacyRequest', { ...at, request })).toBe(true);
    expect(parses('createPrivacyRequest', { ...at, request: { ...request, law: 'pipeda' } })).toBe(false);
    expect(parses('createPrivacyRequest', { ...at, request: { ...request, subject: { customerName: 'Kim Doe' } } })).toBe(false);
    expect(parses('createPrivacyRequest', { ...at, request: { ...request, reference: 'kim@example.com' } })).toBe(false);
    expect(parses('closePrivacyRequest', { ...at, requestId: 'pr1', reason: 'refused' })).toBe(true);
    expect(parses('closePrivacyRequest', { ...at, requestId: 'pr1', reason: 'because' })).toBe(false);
  });
});
