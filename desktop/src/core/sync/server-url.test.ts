import { describe, expect, it } from 'vitest';
import { InsecureServerUrlError } from '../errors';
import { Backoff } from './backoff';
import { parseServerUrl } from './server-url';

describe('server URL policy (plain HTTP only on loopback)', () => {
  it('accepts https anywhere and http on this machine, reduced to the origin', () => {
    expect(parseServerUrl('https://depot.example.com/some/path?x=1').href).toBe('https://depot.example.com/');
    expect(parseServerUrl('http://127.0.0.1:8080').href).toBe('http://127.0.0.1:8080/');
    expect(parseServerUrl('http://localhost:3000').href).toBe('http://localhost:3000/');
    expect(parseServerUrl('http://[::1]:3000').href).toBe('http://[::1]:3000/');
  });

  it.each(['http://depot.example.com', 'http://10.0.0.5:8080', 'ws://127.0.0.1', 'https://user:pw@depot.example.com', 'not a url'])(
    'refuses %s', (url) => {
      expect(() => parseServerUrl(url)).toThrow(InsecureServerUrlError);
    },
  );
});

describe('backoff', () => {
  it('grows exponentially up to its cap, with jitter, and resets', () => {
    const top = new Backoff(100, 1000, () => 0.999);
    expect([1, 2, 3, 4, 5, 6].map(() => top.next())).toEqual([100, 200, 400, 799, 999, 999]);
    top.reset();
    expect(top.next()).toBe(100);
    const bottom = new Backoff(100, 1000, () => 0);
    expect(bottom.next()).toBe(50);
  });
});
