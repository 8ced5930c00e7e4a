import type { AuthenticationResponseJson, CeremonyStarted, CeremonyStatus } from '@depotline/shared';
import { ServerRequestError, ServerUnreachableError } from '../errors';
import { Backoff } from './backoff';
import { sleep } from './held-sign-in';

/*
 * Sign-in with a security key (docs/api.md, "Security keys"): the password opens a `login`
 * ceremony for this device, the server's page runs the key in a browser, and this device polls
 * the ceremony until the key has answered; the assertion then completes the sign-in.
 */

/**
 * A started ceremony, as main sees it: the page to open and when it ends. The poll token and
 * the password (the completing sign-in must carry it again) stay in private fields: main holds
 * this object while the user touches their key, and nothing of it but these two fields is read.
 */
export class KeyCeremony {
  readonly ceremonyUrl: string;
  readonly expiresAt: number;
  readonly #ceremonyId: string;
  readonly #pollToken: string;
  readonly #credentials: { username: string; password: string };

  constructor(started: CeremonyStarted, credentials: { username: string; password: string }) {
    this.ceremonyUrl = started.ceremonyUrl;
    this.expiresAt = started.expiresAt;
    this.#ceremonyId = started.ceremonyId;
    this.#pollToken = started.pollToken;
    this.#credentials = { ...credentials };
  }

  /** For the session keeper only: the poll, and the sign-in that presents the assertion. */
  secrets(): { ceremonyId: string; pollToken: string; username: string; password: string } {
    return { ceremonyId: this.#ceremonyId, pollToken: this.#pollToken, ...this.#credentials };
  }

  /** Keeps the fields above out of logs and JSON. */
  toJSON(): { expiresAt: number } {
    return { expiresAt: this.expiresAt };
  }
}

export type KeyAnswer =
  | { status: 'answered'; response: AuthenticationResponseJson }
  /** The page or the server refused the key; `reason` is the server's words, for the user. */
  | { status: 'failed'; reason: string }
  | { status: 'expired' }
  | { status: 'cancelled' };

/** A ceremony lives five minutes on the server; the device never waits longer than this, whatever it says. */
export const maxKeyWaitMs = 5 * 60_000;

export interface KeyWaitOptions {
  poll: () => Promise<CeremonyStatus>;
  /** About a second (docs/api.md); the waits grow to three times it while nothing happens. */
  firstDelayMs: number;
  now: () => number;
  signal?: AbortSignal;
}

/**
 * Polls until the key has answered on the page, the ceremony failed or ran out, or `signal`
 * cancels. A network failure is waited out like `pending`; the server's "unknown ceremony"
 * (a wrong or forgotten one) ends the wait as expired.
 */
export async function waitForKey(expiresAt: number, o: KeyWaitOptions): Promise<KeyAnswer> {
  const deadline = Math.min(expiresAt, o.now() + maxKeyWaitMs);
  const backoff = new Backoff(o.firstDelayMs, o.firstDelayMs * 3, () => 0.7 + Math.random() * 0.3);
  for (;;) {
    if (o.signal?.aborted) return { status: 'cancelled' };
    let status: CeremonyStatus | null = null;
    try {
      status = await o.poll();
    } catch (err) {
      if (err instanceof ServerRequestError && err.code === 'not_found') return { status: 'expired' };
      if (!(err instanceof ServerUnreachableError)) throw err;
    }
    if (o.signal?.aborted) return { status: 'cancelled' };
    switch (status?.status) {
      case 'answered': return { status: 'answered', response: status.response };
      case 'failed': return { status: 'failed', reason: status.reason };
      case 'expired': case 'used': return { status: 'expired' };
      // A registration's `done` cannot answer a login ceremony: treat it as the failure it is.
      case 'done': return { status: 'failed', reason: 'The server answered a sign-in with a key registration.' };
      case 'pending': case undefined: break;
    }
    const left = deadline - o.now();
    if (left <= 0) return { status: 'expired' };
    if (!(await sleep(Math.min(backoff.next(), left), o.signal))) return { status: 'cancelled' };
  }
}
