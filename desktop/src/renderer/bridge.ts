import { useEffect, useRef } from 'react';
import type {
  BridgeArgs, BridgeCallName, BridgeError, BridgeEventName, BridgeEventPayload, BridgeResult, BridgeValue,
} from '@depotline/shared';

/**
 * The renderer's only way out: `window.depotline`, the typed bridge the preload exposes.
 * Failures arrive as `{ ok: false, error }` with a stable code; `call` turns them into a
 * BridgeFailure so components can `catch` and show `error.message`.
 */
export class BridgeFailure extends Error {
  override readonly name = 'BridgeFailure';
  constructor(readonly error: BridgeError) {
    super(error.message);
  }

  get code(): BridgeError['code'] {
    return this.error.code;
  }
}

export async function call<K extends BridgeCallName>(name: K, ...args: Record<string, never> extends BridgeArgs<K> ? [args?: BridgeArgs<K>] : [args: BridgeArgs<K>]): Promise<BridgeValue<K>> {
  const method = window.depotline[name] as (a?: BridgeArgs<K>) => Promise<BridgeResult<BridgeValue<K>>>;
  const result = await method(args[0]);
  if (!result.ok) throw new BridgeFailure(result.error);
  return result.value;
}

export function messageOf(err: unknown): string {
  if (err instanceof BridgeFailure) return err.message;
  return 'Something went wrong. Try again.';
}

/** Subscribes to a pushed event for the component's lifetime. */
export function useBridgeEvent<E extends BridgeEventName>(event: E, listener: (payload: BridgeEventPayload<E>) => void): void {
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => window.depotline.on(event, (payload) => latest.current(payload)), [event]);
}
