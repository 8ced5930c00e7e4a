import { accessRoutes } from './access/routes';
import { authRoutes } from './auth/routes';
import type { RouteModule } from './http/app';
import { syncRoutes } from './sync/routes';

/** Every REST module, in registration order. Each registers its own paths under /api/v1. */
export const routeModules: readonly RouteModule[] = [syncRoutes, accessRoutes, authRoutes];
