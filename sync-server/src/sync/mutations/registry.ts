import type { Mutation, MutationType } from '@depotline/shared';
import type { MutationHandler, MutationHandlers } from './handler';
import { fleetMutations } from './fleet';
import { planningMutations } from './planning';
import { positionMutations } from './position';
import { routeMutations } from './route';
import { stopMutations } from './stop';

/**
 * Every mutation type's server handler. Typed as `MutationHandlers`, so a type declared in
 * shared/ and handled nowhere here does not compile. A new type of an existing record goes
 * into that record's module; a new record gets a module and one line here.
 */
export const mutationHandlers: MutationHandlers = {
  ...stopMutations, ...routeMutations, ...positionMutations, ...planningMutations, ...fleetMutations,
};

export function handlerFor(m: Mutation): MutationHandler<MutationType> {
  // The one widening of the registry (see `mutationTarget` in shared/): the entry under
  // `m.type` is the handler written for that type.
  return mutationHandlers[m.type] as MutationHandler<MutationType>;
}
