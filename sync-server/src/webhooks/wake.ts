import type { ServerContext } from '../context';

/**
 * A hint from the outbox to this process's webhook worker that deliveries were queued, so they
 * go out within milliseconds of the commit instead of at the next poll. Only a hint: the
 * worker's poll finds everything anyway (deliveries queued by another process included).
 */

const wakers = new WeakMap<ServerContext, () => void>();

export function onWebhookWake(ctx: ServerContext, wake: (() => void) | null): void {
  if (wake) wakers.set(ctx, wake);
  else wakers.delete(ctx);
}

export function wakeWebhookWorker(ctx: ServerContext): void {
  wakers.get(ctx)?.();
}
