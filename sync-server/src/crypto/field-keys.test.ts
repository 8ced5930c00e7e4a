import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config';
import { FieldCipher, fieldAad, keyId, keyIdOf } from './field-cipher';
import { KeyError, loadFieldKeys } from './key-material';

describe('field keys during a rotation', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-keys-'));
  const write = (name: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, crypto.randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    return file;
  };
  const oldFile = write('old.key');
  const newFile = write('new.key');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the previous key files from the environment, comma-separated', () => {
    const config = loadConfig({ DEPOTLINE_FIELD_KEY_FILE: newFile, DEPOTLINE_FIELD_KEY_PREVIOUS_FILES: ` ${oldFile} ,` });
    expect(config.fieldKey).toEqual({ file: newFile, value: undefined, previousFiles: [oldFile] });
    expect(loadConfig({}).fieldKey.previousFiles).toEqual([]);
  });

  it('writes with the current key and still reads values under a previous one', () => {
    const [oldKey] = loadFieldKeys({ file: oldFile, previousFiles: [] }, path.join(dir, 'unused'));
    const before = new FieldCipher([oldKey!]);
    const aad = fieldAad('stops', 'address', 's1');
    const stored = before.encrypt('1 Lindenstrasse', aad);
    const during = new FieldCipher(loadFieldKeys({ file: newFile, previousFiles: [oldFile] }, path.join(dir, 'unused')));
    expect(during.decrypt(stored, aad)).toBe('1 Lindenstrasse');
    expect(keyIdOf(during.encrypt('x', aad))).toBe(during.currentKeyId);
    expect(during.keyIds).toEqual([during.currentKeyId, keyId(oldKey!)]);
    // Once the old key is retired, its values no longer read: the rotation must have finished.
    const after = new FieldCipher(loadFieldKeys({ file: newFile, previousFiles: [] }, path.join(dir, 'unused')));
    expect(after.tryDecrypt(stored, aad)).toEqual({ ok: false, reason: 'unknown_key', keyId: keyId(oldKey!) });
  });

  it('says why a value does not decrypt, without throwing', () => {
    const cipher = new FieldCipher(loadFieldKeys({ file: newFile, previousFiles: [] }, path.join(dir, 'unused')));
    const stored = cipher.encrypt('secret', fieldAad('users', 'totp_secret', 'u1'));
    expect(cipher.tryDecrypt(stored, fieldAad('users', 'totp_secret', 'u2'))).toEqual({ ok: false, reason: 'unauthentic', keyId: cipher.currentKeyId });
    expect(cipher.tryDecrypt('garbage', 'x')).toEqual({ ok: false, reason: 'malformed', keyId: null });
    expect(() => cipher.decrypt(stored, fieldAad('users', 'totp_secret', 'u2'))).toThrow('failed authentication');
  });

  it('refuses a previous key that is the current one, or listed twice', () => {
    expect(() => loadFieldKeys({ file: newFile, previousFiles: [newFile] }, path.join(dir, 'unused'))).toThrow(KeyError);
    expect(() => loadFieldKeys({ file: newFile, previousFiles: [oldFile, oldFile] }, path.join(dir, 'unused'))).toThrow(KeyError);
    expect(() => loadFieldKeys({ file: newFile, previousFiles: [path.join(dir, 'missing.key')] }, path.join(dir, 'unused'))).toThrow(KeyError);
  });
});
