import type { SqlConnection } from '../sql-binding';

/**
 * One schema step. `version` is what `PRAGMA user_version` holds once it has run; steps run
 * in order, each in its own transaction together with the version bump.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  up(conn: SqlConnection): Promise<void>;
}
