import crypto from 'node:crypto';
import path from 'node:path';

/**
 * One local profile (encrypted database + keychain entries) per server and user. The id is a
 * hash, so neither the username nor the server name appears in file or keychain names, and
 * two users of one workstation never share a database (the core refuses that anyway).
 */
export function profileIdFor(serverOrigin: string, username: string): string {
  const digest = crypto.createHash('sha256').update(`${serverOrigin}\n${username.trim().toLowerCase()}`, 'utf8').digest('hex');
  return `u-${digest.slice(0, 40)}`;
}

export function profileDbPath(profilesDir: string, profileId: string): string {
  return path.join(profilesDir, `${profileId}.db`);
}
