import { describe, expect, it } from 'vitest';
import { multipleCiphersBinding } from './multiple-ciphers-binding';
import { sqlcipherBinding } from './sqlcipher-binding';
import { platformStoreBinding, storeDriverName } from './store-driver';

describe('store driver per platform', () => {
  it('is better-sqlite3-multiple-ciphers on Windows and @journeyapps/sqlcipher elsewhere', () => {
    expect(platformStoreBinding('win32', {})).toBe(multipleCiphersBinding);
    expect(platformStoreBinding('linux', {})).toBe(sqlcipherBinding);
    expect(platformStoreBinding('darwin', {})).toBe(sqlcipherBinding);
  });

  it('DEPOTLINE_STORE_DRIVER overrides the platform, and a mistyped name is refused, not ignored', () => {
    expect(storeDriverName('win32', { DEPOTLINE_STORE_DRIVER: 'sqlcipher' })).toBe('sqlcipher');
    expect(storeDriverName('linux', { DEPOTLINE_STORE_DRIVER: 'multiple-ciphers' })).toBe('multiple-ciphers');
    expect(storeDriverName('linux', { DEPOTLINE_STORE_DRIVER: '' })).toBe('sqlcipher');
    expect(() => storeDriverName('linux', { DEPOTLINE_STORE_DRIVER: 'sqlite' })).toThrow(/DEPOTLINE_STORE_DRIVER is "sqlite"; it must be one of sqlcipher, multiple-ciphers/);
    expect(() => storeDriverName('linux', { DEPOTLINE_STORE_DRIVER: 'toString' })).toThrow(/must be one of/);
  });

  it('classifies the multiple-ciphers driver\'s extended result codes like the SQLCipher driver\'s', () => {
    expect(multipleCiphersBinding.errorKind({ code: 'SQLITE_CONSTRAINT_UNIQUE' })).toBe('constraint');
    expect(multipleCiphersBinding.errorKind({ code: 'SQLITE_BUSY_SNAPSHOT' })).toBe('busy');
    expect(multipleCiphersBinding.errorKind({ code: 'SQLITE_NOTADB' })).toBe('not_a_database');
    expect(multipleCiphersBinding.errorKind(new Error('x'))).toBe('other');
  });
});
