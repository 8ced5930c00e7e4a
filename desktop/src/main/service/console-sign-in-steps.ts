import type { BridgeArgs, ConsoleState } from '@depotline/shared';
import type { ApprovalOutcome, KeyVault, SessionSecretVault, SignInOutcome, SyncLog } from '../../core';
import { ConsoleError, problemScreenFor } from './console-error';
import { closeProfile, userViewOf, type OpenProfile, type PendingSignIn } from './console-session';
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
  vault: KeyVault & SessionSecretVault;
  verifiers: UnlockVerifierVault;
  log: SyncLog;
}

type AwaitingApproval = PendingSignIn & { step: { kind: 'awaiting_approval' } };

/**
 * The steps between a correct password and a session (docs/security-model.md, "Identity"):
 * enrolling an authenticator, waiting for approval from a trusted device, setting a new password
 * after an administrator's reset. Each keeps the profile open with the hash of the password that
 * got this far, shows its screen, and goes on wherever the server's next answer leads. The
 * service calls these inside its queue of state changes; the wait for approval alone runs
 * outside it, since it may take minutes and can be cancelled.
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
    if (pending.step.kind === 'awaiting_approval') pending.step.stop.abort();
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
}
