import type { RouteModule } from './http/app';

/** Every REST module, in registration order. Each registers its own paths under /api/v1. */
export const routeModules: readonly RouteModule[] = [];
