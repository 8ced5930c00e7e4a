import type { Mutation, MutationType } from '@depotline/shared';
import type { OptimisticHandler, OptimisticHandlers } from './handler';
import { fleetEdits } from './fleet';
import { planningEdits } from './planning';
import { positionEdits } from './position';
import { routeEdits } from './route';
import { stopEdits } from './stop';

/**
 * Every mutation type's desktop handler. Typed as `OptimisticHandlers`, so a type declared in
 * shared/ and handled nowhere here does not compile. A new type of an existing record goes
 * into that record's module; a new record gets a module and one line here.
 */
export const optimisticHandlers: OptimisticHandlers = { ...stopEdits, ...routeEdits, ...positionEdits, ...planningEdits, ...fleetEdits };

export function optimisticHandlerFor(m: Mutation): OptimisticHandler<MutationType> {
  // The one widening of the registry (see `mutationTarget` in shared/): the entry under
  // `m.type` is the handler written for that type.
  return optimisticHandlers[m.type] as OptimisticHandler<MutationType>;
}
