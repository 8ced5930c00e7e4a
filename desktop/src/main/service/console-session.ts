import type { Me, UserView } from '@depotline/shared';
import {
  SyncClient, wipeProfile, type HeldSignIn, type KeyCeremony, type KeyVault, type LocalStore, type SessionSecretVault, type DeviceProver, type ServerNetwork, type SyncClientOptions, type SyncLog,
} from '../../core';
import type { StoredVerifier, UnlockVerifierVault } from './unlock-verifier';

/* What a sign-in holds open (a profile's store and sync client), and how it is let go. */

/** Tuning of the sync client (tests shorten its delays). */
export type SyncTuning = Partial<Pick<SyncClientOptions, 'retryDelayMs' | 'retryDelayMaxMs' | 'ackTimeoutMs' | 'origin' | 'pullPageSize' | 'approvalPollMs'>>;

export interface Profile {
  profileId: string;
  dbPath: string;
}

export interface OpenProfile extends Profile {
  store: LocalStore;
  client: SyncClient;
}

export interface ActiveSession extends OpenProfile {
  user: UserView;
  verifier: StoredVerifier;
  failedUnlocks: number;
}

/** The step a sign-in waits on before it has a session. */
export type SignInStep =
  | { kind: 'enroll_mfa'; enrollmentToken: string }
  /** Held for approval: `stop` ends the wait (cancel, sign-out, quit). */
  | { kind: 'awaiting_approval'; approval: HeldSignIn; stop: AbortController }
  | { kind: 'password_change_required'; changeToken: string }
  /** Waiting for the key on the server's page: `stop` ends the wait. The ceremony keeps its poll token to itself. */
  | { kind: 'security_key'; ceremony: KeyCeremony; stop: AbortController };

/** A sign-in part of the way through: its profile is open, it has no session yet. */
export interface PendingSignIn extends OpenProfile {
  username: string;
  step: SignInStep;
  /** The profile was created by this sign-in: a cancelled one leaves nothing behind. */
  fresh: boolean;
  /** Hash of the password that got this far; the password itself is not kept. */
  verifier: StoredVerifier;
}

export function newSyncClient(
  profile: Profile,
  store: LocalStore,
  o: { serverUrl: string; vault: KeyVault & SessionSecretVault; log: SyncLog; deviceName?: string | undefined; sync?: SyncTuning | undefined; network?: ServerNetwork | undefined; deviceProof?: DeviceProver | undefined },
): SyncClient {
  return new SyncClient({
    serverUrl: o.serverUrl, profileId: profile.profileId, dbPath: profile.dbPath, store, vault: o.vault, log: o.log,
    ...(o.deviceName ? { deviceName: o.deviceName } : {}),
    ...(o.network ? { network: o.network } : {}),
    ...(o.deviceProof ? { deviceProof: o.deviceProof } : {}),
    ...o.sync,
  });
}

/**
 * Stops the client and closes the store; with `forget`, also deletes the profile (database,
 * key, session secrets) and its unlock verifier. Each step is tried whatever the one before
 * did, so a half-broken profile is still let go.
 */
export async function closeProfile(
  open: OpenProfile,
  options: { forget: boolean },
  o: { vault: KeyVault & SessionSecretVault; verifiers: UnlockVerifierVault },
): Promise<void> {
  await open.client.dispose().catch(() => undefined);
  if (!open.store.closed) await open.store.close().catch(() => undefined);
  if (options.forget) {
    await wipeProfile({ ...open, vault: o.vault, sessionSecrets: o.vault }).catch(() => undefined);
    await o.verifiers.delete(open.profileId).catch(() => false);
  }
}

/** Only what the screens show of the user. */
export function userViewOf(me: Me): UserView {
  return { id: me.user.id, username: me.user.username, displayName: me.user.displayName };
}
