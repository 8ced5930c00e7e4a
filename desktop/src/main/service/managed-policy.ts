import crypto from 'node:crypto';
import { z } from 'zod';
import { EnrollmentToken } from '@depotline/shared';
import type { ServerNetworkOptions } from '../../core';
import { EtaPolicy } from './eta-policy';
import { MapTilesPolicy } from './map-tiles';
import {
  linuxPolicyFile, macManagedPreferences, macPolicyFile, parsePolicyJson, PolicySourceError, readPolicySources, systemPolicyHost, windowsPolicyFile,
  windowsPolicyKey, type PolicyHost, type PolicySource,
} from './policy-sources';

const between = (min: number, max: number) => ({ error: `must be between ${min} and ${max}` });
const base64Sha256 = /^[A-Za-z0-9+/]{43}=$/;

/**
 * The console's managed policy, set by IT (docs/operations.md, "Console managed policy"). Read
 * from the platform's policy sources (policy-sources.ts: a JSON file users cannot edit, the
 * Windows registry policy key, macOS managed preferences) and, for development, from
 * environment variables, which can never loosen what a policy source set (`resolvePolicyFrom`).
 */
export const ConsolePolicy = z.object({
  /** The sync server. https:// unless it is on this machine. */
  serverUrl: z.url({ error: 'must be a URL such as https://depot.example.com' }).default('http://127.0.0.1:8787'),
  /**
   * A PEM file (absolute path) with the CA, or the server's own self-signed certificate, that the
   * server's chain must end in: it replaces the system's roots for the sync server (REST and the
   * socket). Absent: the system's trust store.
   */
  serverCaFile: z.string().min(1).max(1024).refine((p) => /^(\/|[A-Za-z]:[\\/]|\\\\)/.test(p), { error: 'must be an absolute path to a PEM file' }).optional(),
  /**
   * SHA-256 pins of SubjectPublicKeyInfo (base64, RFC 7469 form). One certificate of the
   * validated chain must carry one of these keys. Give two: the current key and the next one.
   */
  serverSpkiSha256: z.array(z.string().regex(base64Sha256, { error: 'each pin must be a base64 SHA-256 (44 characters ending in =)' })).min(1, { error: 'must list at least one pin' }).max(10).optional(),
  /** An http:// or https:// proxy the core reaches the sync server through (CONNECT). Absent: direct. */
  proxyUrl: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// proxy URL' }).optional(),
  /** Hosts reached without the proxy: `depot.example`, `.example` (subdomains), `10.0.0.5`, `host:8443`. */
  proxyBypass: z.array(z.string().min(1).max(253).regex(/^[A-Za-z0-9.*:[\]_-]+$/, { error: 'each entry must be a host name, IP address or .domain' })).max(100).optional(),
  /**
   * Lock after this many minutes without input (issue 4: default 10). Capped at 30: OWASP ASVS
   * 4.0 V3.3.2 asks level 2 for re-authentication after at most 30 minutes of inactivity.
   */
  idleLockMinutes: z.number({ error: 'must be a number of minutes' }).min(0.05, between(0.05, 30)).max(30, between(0.05, 30)).default(10),
  /**
   * Days a desktop may go without reaching the server before its local data locks until it
   * reconnects and the user signs in online (core/profile/offline-lock.ts): a lost laptop stops
   * being readable in the console.
   */
  offlineDays: z.number({ error: 'must be a number of days' }).min(1, between(1, 365)).max(365, between(1, 365)).default(30),
  /**
   * The depot's map tile server (map-tiles.ts). Only from the policy, never the environment: it
   * widens the page's Content-Security-Policy by its origin. Absent: no tiles.
   */
  mapTiles: MapTilesPolicy.optional(),
  /** How the board estimates arrival times, in general and per depot (eta-policy.ts). Absent: the defaults. */
  eta: EtaPolicy.optional(),
  /**
   * Whether proof-of-delivery files may be kept in the local (encrypted) database for viewing
   * offline. Only from the policy, never the environment. Default false: a proof is shown
   * from memory while its stop is open and written nowhere on this computer.
   */
  podOfflineCache: z.boolean({ error: 'must be true or false' }).default(false),
  /**
   * Only enrolled devices may sign in (docs/operations.md "Device enrollment"): the console
   * enrolls with `enrollmentToken` and signs every sign-in with its device key. The server's
   * DEPOTLINE_REQUIRE_ENROLLED_DEVICES is what enforces it.
   */
  requireEnrolledDevices: z.boolean({ error: 'must be true or false' }).default(false),
  /** A one-time enrollment token (`depotline-admin device enroll-token create`), spent on the first sign-in of an unenrolled console. */
  enrollmentToken: EnrollmentToken.optional(),
}).strict();
export type ConsolePolicy = z.infer<typeof ConsolePolicy>;

export class PolicyError extends Error {
  override readonly name = 'PolicyError' as const;
}

/** Where IT puts the policy file, per platform (the registry key and managed preferences: policy-sources.ts). */
export function policyFileLocations(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  if (platform === 'win32') return [windowsPolicyFile(env)];
  if (platform === 'darwin') return [macPolicyFile];
  return [linuxPolicyFile];
}

/** Every place this platform reads the policy from, for the error message and the docs. */
export function policyPlaces(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  if (platform === 'win32') return [windowsPolicyFile(env), windowsPolicyKey];
  if (platform === 'darwin') return [macPolicyFile, macManagedPreferences];
  return [linuxPolicyFile];
}

/**
 * The effective policy from one policy file's text (null: none) and the environment: the
 * single-file form of `resolvePolicyFrom`.
 */
export function resolvePolicy(fileText: string | null, env: NodeJS.ProcessEnv): ConsolePolicy {
  try {
    return resolvePolicyFrom(fileText === null ? [] : [{ where: 'the Depotline policy file', settings: parsePolicyJson(fileText, 'the Depotline policy file') }], env);
  } catch (err) {
    if (err instanceof PolicySourceError) throw new PolicyError(err.message);
    throw err;
  }
}

/** Reads this machine's policy sources and resolves them; any problem is a PolicyError. */
export function loadManagedPolicy(host: PolicyHost = systemPolicyHost): ConsolePolicy {
  let sources: PolicySource[];
  try {
    sources = readPolicySources(host);
  } catch (err) {
    throw new PolicyError(err instanceof Error ? err.message : String(err));
  }
  return resolvePolicyFrom(sources, host.env);
}

/**
 * The effective policy. Sources come lowest precedence first and later ones win per setting
 * (policy-sources.ts says the order per platform). Each source is checked on its own first, so
 * the message names where the bad setting is. The environment (`DEPOTLINE_SERVER_URL`,
 * `DEPOTLINE_IDLE_LOCK_MINUTES`, `DEPOTLINE_OFFLINE_DAYS`) is the user's: it fills in what no
 * policy set, and may only tighten a limit a policy did set (a shorter idle lock, fewer offline
 * days); it never changes a policy's server, and never sets the settings that are policy-only.
 * A policy that does not parse stops the console rather than running with defaults IT did not choose.
 */
export function resolvePolicyFrom(sources: readonly PolicySource[], env: NodeJS.ProcessEnv): ConsolePolicy {
  const merged: Record<string, unknown> = {};
  for (const source of sources) {
    const parsed = ConsolePolicy.partial().safeParse(source.settings);
    if (!parsed.success) throw new PolicyError(`The Depotline policy in ${source.where} is not valid: ${describeIssues(parsed.error)}`);
    Object.assign(merged, source.settings);
  }
  const user: Record<string, unknown> = {};
  if (env['DEPOTLINE_SERVER_URL']) user['serverUrl'] = env['DEPOTLINE_SERVER_URL'];
  for (const [key, name] of [['idleLockMinutes', 'DEPOTLINE_IDLE_LOCK_MINUTES'], ['offlineDays', 'DEPOTLINE_OFFLINE_DAYS']] as const) {
    if (env[name]) user[key] = Number(env[name]);
  }
  const fromUser = ConsolePolicy.pick({ serverUrl: true, idleLockMinutes: true, offlineDays: true }).partial().safeParse(user);
  if (!fromUser.success) throw new PolicyError(`The Depotline settings in the environment are not valid: ${describeIssues(fromUser.error)}`);
  const effective: Record<string, unknown> = { ...merged };
  if (fromUser.data.serverUrl !== undefined && merged['serverUrl'] === undefined) effective['serverUrl'] = fromUser.data.serverUrl;
  for (const key of ['idleLockMinutes', 'offlineDays'] as const) {
    const mine = fromUser.data[key];
    if (mine === undefined) continue;
    const policy = merged[key];
    effective[key] = typeof policy === 'number' ? Math.min(policy, mine) : mine;
  }
  const parsed = ConsolePolicy.safeParse(effective);
  if (!parsed.success) throw new PolicyError(`The Depotline policy is not valid: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => {
    if (i.code === 'unrecognized_keys') return i.keys.map((k) => `${[...i.path, k].join('.')}: not a Depotline setting`).join('; ');
    return `${i.path.join('.') || '(policy)'}: ${i.message}`;
  }).join('; ');
}

export const idleLockMs = (policy: ConsolePolicy) => Math.round(policy.idleLockMinutes * 60_000);
export const offlineLockMs = (policy: ConsolePolicy) => Math.round(policy.offlineDays * 86_400_000);

/**
 * The core's network options from the policy: the CA file read and checked now, so a missing or
 * unreadable file stops the console with its setting's name instead of failing every request.
 */
export function serverNetworkOptions(policy: ConsolePolicy, readFile: (path: string) => string): ServerNetworkOptions {
  const options: ServerNetworkOptions = {};
  if (policy.serverCaFile !== undefined) {
    let pem: string;
    try {
      pem = readFile(policy.serverCaFile);
    } catch (err) {
      throw new PolicyError(`The Depotline policy is not valid: serverCaFile: ${policy.serverCaFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    try {
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no certificate');
      void new crypto.X509Certificate(pem);
    } catch {
      throw new PolicyError(`The Depotline policy is not valid: serverCaFile: ${policy.serverCaFile} does not hold a PEM certificate`);
    }
    options.caPem = pem;
  }
  if (policy.serverSpkiSha256) options.spkiSha256 = policy.serverSpkiSha256;
  if (policy.proxyUrl) options.proxyUrl = policy.proxyUrl;
  if (policy.proxyBypass) options.proxyBypass = policy.proxyBypass;
  return options;
}
