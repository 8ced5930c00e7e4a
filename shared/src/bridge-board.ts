import { z } from 'zod';
import { DepotAttention } from './attention';
import { EntityId, RouteDate, Timestamp } from './domain';
import { EtaSettings } from './eta';

/**
 * The routes board's day and what needs attention (see attention.ts for the definitions). The
 * routes and stops of the day come from `queryBoard` and `listStops` with the same `date`; each
 * route row carries its counts, each stop row its ETA and flag.
 */

export const BoardSummaryArgs = z.object({
  locationId: EntityId,
  /** The depot's calendar day to show; without it, the depot's today. */
  date: RouteDate.optional(),
}).strict();

export const BoardSummaryView = z.object({
  /** The day shown. */
  date: RouteDate,
  /** The depot's today, in its time zone, by the console's clock. */
  today: RouteDate,
  timeZone: z.string().max(64),
  /** The console's clock when this was counted: late and at risk are as of then. */
  asOf: Timestamp,
  counts: DepotAttention,
  eta: z.object({
    settings: EtaSettings,
    /** False when the viewer may not see driver positions: no estimates, only ETAs recorded on stops. */
    usesPositions: z.boolean(),
  }),
});
export type BoardSummaryView = z.infer<typeof BoardSummaryView>;

export const boardBridgeCalls = {
  boardSummary: { args: BoardSummaryArgs, result: BoardSummaryView },
} as const;
