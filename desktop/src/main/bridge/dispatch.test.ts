import { bridgeCallNames, type ConsoleState } from '@depotline/shared';
import { describe, expect, it, vi } from 'vitest';
import { DatabaseCorruptError, KeychainUnavailableError, LocalEditRefusedError, ServerRequestError, ServerUnreachableError } from '../../core';
import { ConsoleError } from '../service/console-error';
import { BridgeDispatcher, type BridgeHandlers, type BridgeSender } from './dispatch';

const appSender: BridgeSender = { url: 'app://depotline/index.html', isMainFrame: true };
const state: ConsoleState = { screen: 'console', user: { id: 'u1', username: 'dora', displayName: 'Dora' }, idleLockMs: 600_000 };

function dispatcherWith(overrides: Partial<BridgeHandlers>) {
  const handlers = Object.fromEntries(bridgeCallNames.map((n) => [n, vi.fn(() => Promise.reject(new Error(`unexpected ${n}`)))])) as unknown as BridgeHandlers;
  Object.assign(handlers, overrides);
  const warnings: string[] = [];
  const dispatcher = new BridgeDispatcher(handlers, {
    isTrustedSender: (s) => s.isMainFrame && s.url?.startsWith('app://depotline/') === true,
    log: { warn: (m, f) => warnings.push(`${m} ${JSON.stringify(f)}`) },
  });
  return { dispatcher, handlers, warnings };
}

describe('bridge dispatch (Electron checklist item 17: validate every IPC sender and argument)', () => {
  it('refuses calls from any page but the console, before any handler runs', async () => {
    const signIn = vi.fn(() => Promise.resolve(state));
    const { dispatcher, warnings } = dispatcherWith({ signIn });
    for (const sender of [
      { url: 'https://phish.example/', isMainFrame: true },
      { url: 'app://depotline/index.html', isMainFrame: false },
      { url: null, isMainFrame: true },
      { url: 'file:///tmp/x.html', isMainFrame: true },
    ]) {
      const res = await dispatcher.dispatch('signIn', sender, { username: 'a', password: 'b' });
      expect(res).toMatchObject({ ok: false, error: { code: 'untrusted_sender' } });
    }
    expect(signIn).not.toHaveBeenCalled();
    expect(warnings.join('\n')).not.toContain('phish.example');
  });

  it('parses arguments with the call schema and never echoes a rejected value', async () => {
    const signIn = vi.fn(() => Promise.resolve(state));
    const { dispatcher } = dispatcherWith({ signIn });
    const secret = 'hunter2-the-password';
    for (const args of [
      { username: 'dora', password: secret, totp: '12ab56' },
      { username: 'dora', password: secret, extra: true },
      { username: '', password: secret },
      'dora',
      { username: 'dora', password: 'x'.repeat(10_000) },
    ]) {
      const res = await dispatcher.dispatch('signIn', appSender, args);
      expect(res.ok).toBe(false);
      if (!res.ok) {
        expect(res.error.code).toBe('bad_request');
        expect(res.error.message).not.toContain(secret);
      }
    }
    expect(signIn).not.toHaveBeenCalled();
    expect(await dispatcher.dispatch('noSuchCall', appSender, {})).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await dispatcher.dispatch('__proto__', appSender, {})).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });

  it('answers only what the contract declares: extra fields (a token, a key) are dropped', async () => {
    const leaky = { ...state, accessToken: 'eyJ.leak', user: { ...state.user, refreshToken: 'rt-leak' } };
    const stopDetail = vi.fn(() => Promise.resolve({
      stop: { id: 's1', locationId: 'depot-a', routeId: 'r1', sequence: 0, window: { start: 1, end: 2 }, status: 'planned', eta: null, updatedAt: 1, updatedBy: null, dbKey: 'ab'.repeat(32) },
      routeName: null, driverName: null, allowedTransitions: [], notesVisible: false, canEditNotes: false, pendingEdits: 0,
    }));
    const { dispatcher } = dispatcherWith({ getState: () => Promise.resolve(leaky as ConsoleState), stopDetail: stopDetail as unknown as BridgeHandlers['stopDetail'] });
    const res = await dispatcher.dispatch('getState', appSender, undefined);
    expect(res).toEqual({ ok: true, value: state });
    const detail = await dispatcher.dispatch('stopDetail', appSender, { stopId: 's1' });
    expect(JSON.stringify(detail)).not.toContain('ab'.repeat(32));
  });

  it('an answer that breaks its contract is an internal error, not a half-checked value', async () => {
    const { dispatcher, warnings } = dispatcherWith({ getState: () => Promise.resolve({ screen: 'console' } as ConsoleState) });
    expect(await dispatcher.dispatch('getState', appSender, {})).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(warnings[0]).toContain('broke its contract');
  });

  it('turns errors into stable codes; unknown errors say nothing about their cause', async () => {
    const cases: Array<[Error, string]> = [
      [new ConsoleError('locked', 'The console is locked.'), 'locked'],
      [new ServerRequestError('invalid_credentials', 'server text'), 'invalid_credentials'],
      [new ServerRequestError('account_locked', 'locked', 120), 'account_locked'],
      [new ServerUnreachableError('network error'), 'server_unreachable'],
      [new KeychainUnavailableError('no_secret_service', 'no keychain'), 'keychain_unavailable'],
      [new DatabaseCorruptError('/p.db', 'malformed', 'bad page'), 'database_unavailable'],
      [new LocalEditRefusedError('invalid_transition', 'a planned stop cannot become delivered'), 'invalid_transition'],
      [new Error('ENOENT: /home/dora/.config/Depotline/profiles/x.db'), 'internal'],
    ];
    for (const [err, code] of cases) {
      const { dispatcher } = dispatcherWith({ lock: () => Promise.reject(err) });
      const res = await dispatcher.dispatch('lock', appSender, {});
      expect(res, String(err)).toMatchObject({ ok: false, error: { code } });
      if (!res.ok && code === 'internal') expect(res.error.message).not.toContain('/home/dora');
      if (!res.ok && code === 'account_locked') expect(res.error.retryAfterS).toBe(120);
    }
  });
});
