import { type Mutation, type MutationTarget, mutationTarget, type MutationTargetKind } from '@depotline/shared';
import { LocalEditRefusedError } from '../errors';
import type { LocalLookup, TargetEntity } from '../mutations/handler';
import { optimisticHandlerFor } from '../mutations/registry';

/**
 * The optimistic layer the store uses: what an edit does locally before the server answers,
 * and whether it is worth sending. Each mutation type's rules live in its module under
 * `core/mutations/`; this dispatches through the registry.
 */

export type { MutationTarget, TargetEntity };
export type TargetKind = MutationTargetKind;

export function targetOf(m: Mutation): MutationTarget {
  return mutationTarget(m);
}

export function applyMutation(m: Mutation, current: TargetEntity | null): TargetEntity | null {
  return optimisticHandlerFor(m).apply(m, current);
}

export async function checkLocalEdit(m: Mutation, current: TargetEntity | null, lookup: LocalLookup): Promise<void> {
  if (current && current.locationId !== m.locationId) {
    throw new LocalEditRefusedError('bad_request', 'the edit names a different location than the record it changes');
  }
  await optimisticHandlerFor(m).check(m, current, lookup);
}
