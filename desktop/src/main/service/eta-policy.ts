import { defaultEtaSettings, EntityId, EtaSettings } from '@depotline/shared';
import { z } from 'zod';

/**
 * How the console estimates arrival times (shared eta.ts), as IT sets it in the policy file
 * (`eta`): values for every depot, and per depot (by location id) where one differs, e.g. a
 * rural depot's vans drive faster between stops than a city's. Whatever is not set takes the
 * default (30 km/h, 4 minutes per stop, road factor 1.3, positions up to 30 minutes old).
 *
 * ```json
 * { "eta": { "averageSpeedKmh": 28, "depots": { "depot-moorland": { "averageSpeedKmh": 45, "serviceMinutes": 6 } } } }
 * ```
 */
const PartialEtaSettings = EtaSettings.partial().strict();

export const EtaPolicy = PartialEtaSettings.extend({
  depots: z.record(EntityId, PartialEtaSettings).optional(),
}).strict();
export type EtaPolicy = z.infer<typeof EtaPolicy>;

/** The settings for one depot: its own values over the policy's general ones over the defaults. */
export function etaSettingsFor(policy: EtaPolicy | undefined, locationId: string): EtaSettings {
  if (!policy) return { ...defaultEtaSettings };
  const { depots, ...general } = policy;
  const own = depots !== undefined && Object.hasOwn(depots, locationId) ? depots[locationId] : undefined;
  return { ...defaultEtaSettings, ...general, ...own };
}
