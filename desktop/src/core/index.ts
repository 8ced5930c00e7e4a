/**
 * @depotline/desktop core: the encrypted local store, the key vault and the sync client.
 * Node only (no Electron): the main process wires these to IPC.
 */
export * from './errors';

export { DatabaseKey } from './vault/database-key';
export { assertProfileId, type KeySlot, type KeyVault, type SessionSecretVault } from './vault/key-vault';
export { KeytarVault, type KeytarVaultOptions } from './vault/keytar-vault';
export { SafeStorageVault, type SafeStorageLike } from './vault/safe-storage-vault';
export { MovingVault, type VaultMove } from './vault/moving-vault';
export { selectKeyVault, type KeyVaultChoice, type KeyVaultSelection } from './vault/vault-selection';

export type { SqlBinding, SqlConnection, SqlErrorKind } from './store/sql-binding';
export { sqlcipherBinding } from './store/sqlcipher-binding';
export { multipleCiphersBinding } from './store/multiple-ciphers-binding';
export { platformStoreBinding, storeDriverName, type StoreDriverName } from './store/store-driver';
export type {
  AckOutcome, ApplyResult, BoardDay, BoardFilter, BoardQuery, BoardRow, BoardSortKey, DroppedLocation, LocalStore, MetaKey,
  PendingMutation, RejectedMutation, StoreChange, StoredLocation,
} from './store/local-store';
export type { BatchOutcome } from './store/import-store';
export { readOrderFile } from './import/order-file';

export {
  openProfileStore, reenrollProfile, rotateProfileKey, wipeProfile,
  type ProfileOptions, type ReenrollReport, type WipeReport,
} from './profile/profile-store';

export {
  SyncClient, type ApprovalOutcome, type HeldSignIn, type KeyCeremony, type KeySignInOutcome, type SignInOutcome, type SyncClientOptions,
} from './sync/sync-client';
export type { AccountClient } from './sync/account-client';
export type { ExportFile, GovernanceClient, Held } from './sync/governance-client';
export type { IntegrationsClient } from './sync/integrations-client';
export type { FetchedProofFile, ProofsClient } from './sync/proofs-client';
export type { AccessExportFile, PrivacyClient } from './sync/privacy-client';
export type { IntegrationHooksClient } from './sync/integration-hooks-client';
export type {
  ConnectionState, LocationDroppedEvent, SessionEndedEvent, SyncEvents, SyncLog, SyncStatus,
} from './sync/sync-events';
export { parseServerUrl } from './sync/server-url';
export { ServerNetwork, ServerPinMismatchError, type ServerNetworkOptions } from './sync/server-network';
export { DeviceEnrollment, type DeviceProver } from './sync/device-enrollment';
export { KeytarDeviceKeyStore, DeviceKeyInvalidError, type DeviceKeyStore, type DeviceIdentity } from './vault/device-key-store';

export { optimisticHandlerFor } from './mutations/registry';
export { clip, statusText } from './mutations/handler';
