import type { Me, SessionTokens, SignInPollResponse } from '@depotline/shared';
import { ServerDataRejectedError, ServerRequestError, ServerUnreachableError } from '../errors';
import { Backoff } from './backoff';

/* A sign-in held for approval (docs/security-model.md, "Identity"): how the held device waits. */

/** What the server handed the held device: the request, the token only this device polls with, its end. */
export interface HeldSignIn {
  requestId: string;
  pollToken: string;
  expiresAt: number;
}

export type ApprovalOutcome = { status: 'ok'; me: Me } | { status: 'denied' } | { status: 'expired' } | { status: 'cancelled' };

type Decided = { status: 'ok'; tokens: SessionTokens; me: Me } | Exclude<ApprovalOutcome, { status: 'ok' }>;

/** However long a request says it lives, the device stops asking after this. */
export const maxApprovalWaitMs = 30 * 60_000;

export interface WaitOptions {
  poll: () => Promise<SignInPollResponse>;
  firstDelayMs: number;
  now: () => number;
  signal?: AbortSignal;
}

/**
 * Polls until the request is decided. The waits grow (with jitter, so the devices of a depot
 * that all wait after an outage spread out) from `firstDelayMs` to five times it: an approval
 * shows within seconds without the device asking many times a second for minutes. A network
 * failure is waited out like `pending`; the server's "unknown request" ends the wait as
 * expired, since the server forgets a request once it is spent or past its end.
 */
export async function waitForDecision(held: HeldSignIn, o: WaitOptions): Promise<Decided> {
  const deadline = Math.min(held.expiresAt, o.now() + maxApprovalWaitMs);
  const backoff = new Backoff(o.firstDelayMs, o.firstDelayMs * 5, () => 0.6 + Math.random() * 0.4);
  for (;;) {
    if (o.signal?.aborted) return { status: 'cancelled' };
    let answer: SignInPollResponse | null = null;
    try {
      answer = await o.poll();
    } catch (err) {
      if (err instanceof ServerRequestError && (err.code === 'not_found' || err.code === 'unauthenticated')) return { status: 'expired' };
      if (!(err instanceof ServerUnreachableError)) throw err;
    }
    if (o.signal?.aborted) return { status: 'cancelled' };
    if (answer && answer.status !== 'pending') {
      if (answer.status === 'ok') return { status: 'ok', tokens: answer.tokens, me: answer.me };
      if (answer.status === 'denied' || answer.status === 'expired') return { status: answer.status };
      throw new ServerDataRejectedError(`a held sign-in answered "${answer.status}"`);
    }
    const left = deadline - o.now();
    if (left <= 0) return { status: 'expired' };
    if (!(await sleep(Math.min(backoff.next(), left), o.signal))) return { status: 'cancelled' };
  }
}

/** Resolves true after `ms`, false at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
