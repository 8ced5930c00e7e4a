import type { DepotlineBridge } from '@depotline/shared';

declare global {
  interface Window {
    /** The one object the preload exposes (or the e2e test host's stand-in). */
    readonly depotline: DepotlineBridge;
  }
}
