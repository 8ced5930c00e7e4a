import { z } from 'zod';
import { EtaPolicy } from './eta-policy';
import { MapTilesPolicy } from './map-tiles';

/**
 * The console's managed policy, set by IT (desktop/README.md, "Sign-in, lock and offline"). Read
 * from a JSON file the user cannot edit (see `policyFileLocations`) and, for development,
 * from environment variables; the file wins, so a user cannot loosen what IT set.
 */
export const ConsolePolicy = z.object({
  /** The sync server. https:// unless it is on this machine. */
  serverUrl: z.url().default('http://127.0.0.1:8787'),
  /**
   * Lock after this many minutes without input (issue 4: default 10). Capped at 30: OWASP ASVS
   * 4.0 V3.3.2 asks level 2 for re-authentication after at most 30 minutes of inactivity.
   */
  idleLockMinutes: z.number().min(0.05).max(30).default(10),
  /**
   * The depot's map tile server (map-tiles.ts). Only from the policy file, never the
   * environment: it widens the page's Content-Security-Policy by its origin. Absent: no tiles.
   */
  mapTiles: MapTilesPolicy.optional(),
  /** How the board estimates arrival times, in general and per depot (eta-policy.ts). Absent: the defaults. */
  eta: EtaPolicy.optional(),
  /**
   * Whether proof-of-delivery files may be kept in the local (encrypted) database for viewing
   * offline. Only from the policy file, never the environment. Default false: a proof is shown
   * from memory while its stop is open and written nowhere on this computer.
   */
  podOfflineCache: z.boolean().default(false),
}).strict();
export type ConsolePolicy = z.infer<typeof ConsolePolicy>;

export class PolicyError extends Error {
  override readonly name = 'PolicyError' as const;
}

/** Where IT puts the policy file, per platform. */
export function policyFileLocations(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  if (platform === 'win32') return [`${env['ProgramData'] ?? 'C:\\ProgramData'}\\Depotline\\policy.json`];
  if (platform === 'darwin') return ['/Library/Application Support/Depotline/policy.json'];
  return ['/etc/depotline/policy.json'];
}

/**
 * The effective policy: the file's settings over the environment's (`DEPOTLINE_SERVER_URL`,
 * `DEPOTLINE_IDLE_LOCK_MINUTES`) over the defaults. A policy file that does not parse stops the
 * console with a clear message rather than running with defaults IT did not choose.
 */
export function resolvePolicy(fileText: string | null, env: NodeJS.ProcessEnv): ConsolePolicy {
  const fromEnv: Record<string, unknown> = {};
  if (env['DEPOTLINE_SERVER_URL']) fromEnv['serverUrl'] = env['DEPOTLINE_SERVER_URL'];
  if (env['DEPOTLINE_IDLE_LOCK_MINUTES']) fromEnv['idleLockMinutes'] = Number(env['DEPOTLINE_IDLE_LOCK_MINUTES']);
  let fromFile: Record<string, unknown> = {};
  if (fileText !== null) {
    let json: unknown;
    try {
      json = JSON.parse(fileText);
    } catch {
      throw new PolicyError('The Depotline policy file is not valid JSON.');
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new PolicyError('The Depotline policy file must hold a JSON object.');
    fromFile = json as Record<string, unknown>;
  }
  const parsed = ConsolePolicy.safeParse({ ...fromEnv, ...fromFile });
  if (!parsed.success) {
    throw new PolicyError(`The Depotline policy is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(policy)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

export const idleLockMs = (policy: ConsolePolicy) => Math.round(policy.idleLockMinutes * 60_000);
