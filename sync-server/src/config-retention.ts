import {
  locationRetentionClasses, type LocationRetention, type LocationRetentionClass, retentionClassSpecs, retentionDaysCeiling,
  retentionDaysField, retentionDaysFloor,
} from '@depotline/shared';

/**
 * Retention settings, read from the environment with the rest of the configuration (config.ts):
 * `DEPOTLINE_RETENTION_<CLASS>_DAYS` is a class's default period and, for the classes a location
 * may set, `DEPOTLINE_RETENTION_<CLASS>_MAX_DAYS` the most a location may widen to. The integration
 * log keeps its own `DEPOTLINE_INTEGRATION_LOG_DAYS`. Documented in the README's configuration
 * reference and docs/operations.md "Retention".
 */
export interface RetentionSettings {
  /** Per location class: the default period and the most a location may set, in days. */
  location: Readonly<Record<LocationRetentionClass, { defaultDays: number; maxDays: number }>>;
  sessionDays: number;
  auditDays: number;
}

export const retentionDaysVariable = (envName: string): string => `DEPOTLINE_RETENTION_${envName}_DAYS`;
export const retentionMaxDaysVariable = (envName: string): string => `DEPOTLINE_RETENTION_${envName}_MAX_DAYS`;

/** A whole number of days within the class's bounds, or `fail` naming the variable. */
function days(env: NodeJS.ProcessEnv, variable: string, fallback: number, min: number, fail: (message: string) => never): number {
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > retentionDaysCeiling) {
    fail(`${variable}: "${raw}" is not a period of ${min}..${retentionDaysCeiling} days (a whole number).`);
  }
  return value;
}

/** `fail` reports a setting that cannot work (config.ts turns it into its ConfigError). */
export function retentionSettings(env: NodeJS.ProcessEnv, fail: (message: string) => never): RetentionSettings {
  const location = {} as Record<LocationRetentionClass, { defaultDays: number; maxDays: number }>;
  for (const c of locationRetentionClasses) {
    const spec = retentionClassSpecs[c];
    const defaultDays = days(env, retentionDaysVariable(spec.envName), spec.defaultDays, retentionDaysFloor, fail);
    const maxDays = days(env, retentionMaxDaysVariable(spec.envName), Math.max(spec.defaultMaxDays ?? spec.defaultDays, defaultDays), retentionDaysFloor, fail);
    if (maxDays < defaultDays) {
      fail(`${retentionMaxDaysVariable(spec.envName)} (${maxDays}) is below ${retentionDaysVariable(spec.envName)} (${defaultDays}): the most a location may keep cannot be less than the default.`);
    }
    location[c] = { defaultDays, maxDays };
  }
  return {
    location,
    sessionDays: days(env, retentionDaysVariable(retentionClassSpecs.session.envName), retentionClassSpecs.session.defaultDays, retentionClassSpecs.session.minDays, fail),
    auditDays: days(env, retentionDaysVariable(retentionClassSpecs.audit.envName), retentionClassSpecs.audit.defaultDays, retentionClassSpecs.audit.minDays, fail),
  };
}

/** The server defaults as one location's periods (a location that set nothing). */
export function defaultLocationRetention(s: RetentionSettings): LocationRetention {
  const out = {} as Record<string, number>;
  for (const c of locationRetentionClasses) out[retentionDaysField[c]] = s.location[c].defaultDays;
  return out as LocationRetention;
}
