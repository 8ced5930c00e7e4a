import type { BridgeArgs, ConsoleState } from '@depotline/shared';
import { ServerRequestError, type ApprovalOutcome, type KeySignInOutcome, type KeyVault, type SessionSecretVault, type SignInOutcome, type SyncLog } from '../../core';
import { ConsoleError, problemScreenFor } from './console-error';
import { closeProfile, userViewOf, type OpenProfile, type PendingSignIn } from './console-session';
import { isServerPage } from './server-page';
import { makeVerifier, type StoredVerifier, type UnlockVerifierVault } from './unlock-verifier';

/** What the steps need of the console service: its screen, its queue, and opening the console. */
export interface SignInStepsHost {
  state: () => ConsoleState;
  setState: (state: ConsoleState) => ConsoleState;
  activate: (open: OpenProfile, verifier: StoredVerifier) => Promise<ConsoleState>;
  /** The service's queue of state changes, one at a time. */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
  signedIn: () => boolean;
  serverOrigin: string | null;
  /** Opens a URL in the system browser (Electron: shell.openExternal); absent where there is none. */
  openExternal: ((url: string) => Promise<void>) | undefined;
  vault: KeyVault & SessionSecretVault;
  verifiers: UnlockVerifierVault;
  log: SyncLog;
}

type AwaitingApproval = PendingSignIn & { step: { kind: 'awaiting_approval' } };
type AwaitingKey = PendingSignIn & { step: { kind: 'security_key' } };

/**
 * The steps between a correct password and a session (docs/security-model.md, "Identity"):
 * enrolling an authenticator, waiting for approval from a trusted device, setting a new password
 * after an administrator's reset, touching a security key on the server's page. Each keeps the profile open with the hash of the password that
 * got this far, shows its screen, and goes on wherever the server's next answer leads. The
 * service calls these inside its queue of state changes; the waits for approval and for the
 * key alone run outside it, since they may take minutes and can be cancelled.
 */
export class SignInSteps {
  readonly #host: SignInStepsHost;
  #pending: PendingSignIn | null = null;

  constructor(host: SignInStepsHost) {
    this.#host = host;
  }

  /**
   * Where a sign-in goes from the server's answer: the console, or the step it waits on (that
   * step's screen). `verifier` hashes the password that got this far, for unlocking later.
   */
  async continue(p: Omit<PendingSignIn, 'step'>, outcome: SignInOutcome): Promise<ConsoleState> {
    const host = this.#host;
    switch (outcome.status) {
      case 'ok': {
        const verifier: StoredVerifier = { ...p.verifier, user: userViewOf(outcome.me) };
        await host.verifiers.set(p.profileId, verifier);
        return host.activate(p, verifier);
      }
      case 'mfa_enrollment_required':
        this.#pending = { ...p, step: { kind: 'enroll_mfa', enrollmentToken: outcome.enrollment.enrollmentToken } };
        return host.setState({
          screen: 'enroll_mfa', username: p.username, otpauthUri: outcome.enrollment.otpauthUri, secretBase32: outcome.enrollment.secretBase32,
        });
      case 'password_change_required':
        this.#pending = { ...p, step: { kind: 'password_change_required', changeToken: outcome.changeToken } };
        return host.setState({ screen: 'password_change_required', username: p.username, expiresAt: outcome.changeTokenExpiresAt });
      case 'approval_required': {
        const pending: AwaitingApproval = { ...p, step: { kind: 'awaiting_approval', approval: outcome.approval, stop: new AbortController() } };
        this.#pending = pending;
        void this.#awaitApproval(pending);
        return host.setState({ screen: 'awaiting_approval', username: p.username, expiresAt: outcome.approval.expiresAt });
      }
    }
  }

  /**
   * Sign-in with a security key: the password opens a ceremony on the server, whose page is
   * opened in the browser only if it is on the configured server's origin (server-page.ts);
   * then the console waits on its own screen while the core polls, and goes on from the
   * sign-in the key completes. Throws, opening nothing, when any of that cannot start.
   */
  async startKeySignIn(p: Omit<PendingSignIn, 'step'>, credentials: { username: string; password: string }): Promise<ConsoleState> {
    const host = this.#host;
    const open = host.openExternal;
    if (!open || !host.serverOrigin) {
      throw new ConsoleError('forbidden', 'This console cannot open a browser for a security key. Use your authenticator code, or sign in on a computer that can.');
    }
    let ceremony;
    try {
      ceremony = await p.client.startKeySignIn(credentials);
    } catch (err) {
      // The server's 409 here means the account has no key (the password was right).
      if (err instanceof ServerRequestError && err.code === 'conflict') {
        throw new ConsoleError('bad_request', 'This account has no security key. Use the code from your authenticator app.');
      }
      throw err;
    }
    if (!isServerPage(ceremony.ceremonyUrl, host.serverOrigin)) {
      throw new ConsoleError('forbidden', `The server asked to open a page outside ${host.serverOrigin}, so it was not opened. Ask IT to check the server's address settings.`);
    }
    await open(ceremony.ceremonyUrl);
    const pending: AwaitingKey = { ...p, step: { kind: 'security_key', ceremony, stop: new AbortController() } };
    this.#pending = pending;
    void this.#awaitKey(pending);
    return host.setState({ screen: 'awaiting_security_key', username: p.username, expiresAt: ceremony.expiresAt });
  }

  async confirmMfaEnrollment(args: BridgeArgs<'confirmMfaEnrollment'>): Promise<ConsoleState> {
    const pending = this.#pending;
    if (pending?.step.kind !== 'enroll_mfa' || this.#host.state().screen !== 'enroll_mfa') {
      throw new ConsoleError('bad_request', 'There is no authenticator enrollment in progress.');
    }
    const outcome = await pending.client.confirmMfaEnrollment({ enrollmentToken: pending.step.enrollmentToken, code: args.code });
    if (outcome.status === 'mfa_enrollment_required') throw new ConsoleError('mfa_invalid', 'The server asked for the enrollment again. Go back and sign in again.');
    this.#pending = null;
    return this.continue(pending, outcome);
  }

  /** After an administrator's reset: the new password completes the sign-in, and unlocks from now on. */
  async completePasswordChange(args: BridgeArgs<'completePasswordChange'>): Promise<ConsoleState> {
    const pending = this.#pending;
    if (pending?.step.kind !== 'password_change_required' || this.#host.state().screen !== 'password_change_required') {
      throw new ConsoleError('bad_request', 'There is no password change in progress.');
    }
    const outcome = await pending.client.completePasswordChange({ changeToken: pending.step.changeToken, newPassword: args.newPassword });
    this.#pending = null;
    return this.continue({ ...pending, verifier: await makeVerifier(args.newPassword, pending.verifier.user) }, outcome);
  }

  /** Lets a half-done sign-in go: a wait for approval stops, a profile it created is removed. */
  async drop(): Promise<void> {
    const pending = this.#pending;
    this.#pending = null;
    if (!pending) return;
    if (pending.step.kind === 'awaiting_approval' || pending.step.kind === 'security_key') pending.step.stop.abort();
    await closeProfile(pending, { forget: pending.fresh }, this.#host);
  }

  /**
   * Waits for the held sign-in to be decided; then, in the service's queue, opens the console
   * or says why not. A wait whose sign-in was cancelled meanwhile changes nothing.
   */
  async #awaitApproval(pending: AwaitingApproval): Promise<void> {
    const host = this.#host;
    let decided: ApprovalOutcome | { status: 'failed'; error: unknown };
    try {
      decided = await pending.client.waitForApproval(pending.step.approval, { signal: pending.step.stop.signal });
    } catch (error) {
      decided = { status: 'failed', error };
    }
    await host.exclusive(async () => {
      if (this.#pending !== pending) return host.state();
      this.#pending = null;
      if (decided.status === 'ok') return this.continue(pending, decided);
      await closeProfile(pending, { forget: pending.fresh }, host);
      if (decided.status === 'failed') {
        const screen = problemScreenFor(decided.error);
        if (screen) return host.setState(screen);
        host.log.warn('waiting for sign-in approval failed', { error: decided.error instanceof Error ? decided.error.name : 'unknown' });
      }
      if (!host.serverOrigin) return host.state();
      const notice = decided.status === 'denied' ? 'approval_denied' : decided.status === 'cancelled' ? null : 'approval_expired';
      return host.setState({ screen: 'sign_in', serverUrl: host.serverOrigin, notice });
    }).catch((err: unknown) => {
      host.log.warn('opening the console after approval failed', { error: err instanceof Error ? err.name : 'unknown' });
      if (host.serverOrigin && !host.signedIn()) host.setState({ screen: 'sign_in', serverUrl: host.serverOrigin, notice: null });
    });
  }

  /**
   * Waits for the key on the page and the sign-in it completes; then, in the service's queue,
   * goes on as any sign-in does (the console, or a step such as approval), or back to the form
   * saying why not. A wait whose sign-in was cancelled meanwhile changes nothing.
   */
  async #awaitKey(pending: AwaitingKey): Promise<void> {
    const host = this.#host;
    let done: KeySignInOutcome | { status: 'error'; error: unknown };
    try {
      done = await pending.client.completeKeySignIn(pending.step.ceremony, { signal: pending.step.stop.signal });
    } catch (error) {
      done = { status: 'error', error };
    }
    await host.exclusive(async () => {
      if (this.#pending !== pending) return host.state();
      this.#pending = null;
      if (done.status !== 'error' && done.status !== 'failed' && done.status !== 'expired' && done.status !== 'cancelled') return this.continue(pending, done);
      await closeProfile(pending, { forget: pending.fresh }, host);
      if (done.status === 'error') {
        const screen = problemScreenFor(done.error);
        if (screen) return host.setState(screen);
        host.log.warn('signing in with a security key failed', { error: done.error instanceof Error ? done.error.name : 'unknown' });
      }
      if (!host.serverOrigin) return host.state();
      const notice = done.status === 'cancelled' ? null : done.status === 'expired' ? 'security_key_expired' : 'security_key_failed';
      return host.setState({ screen: 'sign_in', serverUrl: host.serverOrigin, notice });
    }).catch((err: unknown) => {
      host.log.warn('opening the console after a security key failed', { error: err instanceof Error ? err.name : 'unknown' });
      if (host.serverOrigin && !host.signedIn()) host.setState({ screen: 'sign_in', serverUrl: host.serverOrigin, notice: null });
    });
  }
}
