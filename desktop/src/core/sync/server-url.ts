import { InsecureServerUrlError } from '../errors';

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * The server's origin, normalized. https anywhere; http only to this machine
 * (docs/security-model.md, "Transit and API surface"), so tokens and customer data never cross a network in the clear.
 */
export function parseServerUrl(input: string): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new InsecureServerUrlError(input);
  }
  const loopback = loopbackHosts.has(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new InsecureServerUrlError(url.origin);
  if (url.username || url.password) throw new InsecureServerUrlError(url.origin);
  return new URL(url.origin);
}
