import { describe, expect, it } from 'vitest';
import {
  generateSignerKey, NoteError, noteKeyId, parseSignedNote, parseSignerKey, parseVerifierKey, signNote, verifyNoteSignature,
} from './signed-note';

/*
 * The example key pair and note of the Go reference implementation (golang.org/x/mod/sumdb/note,
 * its package documentation and note_test.go). Ed25519 signatures are deterministic (RFC 8032),
 * so ours must reproduce the published note byte for byte: then any tool built on the reference
 * implementation reads our checkpoints, and we read theirs.
 */
const vkey = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const skey = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const signed = `${text}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

describe('signed notes (C2SP signed-note, Ed25519)', () => {
  it('reproduces the reference key id, verifier key and signed note byte for byte', () => {
    const signer = parseSignerKey(skey);
    expect(signer.name).toBe('PeterNeumann');
    expect(signer.keyId).toBe('c74f20a3');
    expect(signer.verifierKey).toBe(vkey);
    expect(signNote(text, signer)).toBe(signed);
  });

  it('verifies the reference note with the reference verifier key', () => {
    const verifier = parseVerifierKey(vkey);
    const note = parseSignedNote(signed);
    expect(note.text).toBe(text);
    expect(note.signatures).toHaveLength(1);
    expect(verifyNoteSignature(note.text, note.signatures[0]!, verifier)).toBe(true);
  });

  it('refuses a note whose text changed by one character', () => {
    const verifier = parseVerifierKey(vkey);
    const note = parseSignedNote(signed.replace('cryptography', 'Cryptography'));
    expect(verifyNoteSignature(note.text, note.signatures[0]!, verifier)).toBe(false);
  });

  it('does not accept a signature for another key of the same name', () => {
    const other = parseSignerKey(generateSignerKey('PeterNeumann'));
    const note = parseSignedNote(signNote(text, other));
    expect(note.signatures[0]!.keyId).not.toBe('c74f20a3');
    expect(verifyNoteSignature(note.text, note.signatures[0]!, parseVerifierKey(vkey))).toBe(false);
    expect(verifyNoteSignature(note.text, note.signatures[0]!, other)).toBe(true);
  });

  it('computes key ids as SHA-256(name || 0x0A || 0x01 || public key), first 4 bytes', () => {
    const raw = Buffer.from('ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'base64').subarray(1);
    expect(noteKeyId('PeterNeumann', raw)).toBe('c74f20a3');
    expect(noteKeyId('PeterNeumann2', raw)).not.toBe('c74f20a3');
  });

  it.each([
    ['a key id that does not match the key', 'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['an upper-case key id', 'PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['a name with a space', 'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['no key', 'PeterNeumann+c74f20a3'],
    ['a key that is not base64', 'PeterNeumann+c74f20a3+!!!!'],
    ['a key of the wrong length', 'PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='],
    ['another algorithm', 'PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
  ])('refuses a verifier key with %s', (_what, key) => {
    expect(() => parseVerifierKey(key)).toThrow(NoteError);
  });

  it.each([
    ['no blank line', text],
    ['a signature line cut short', signed.slice(0, -10)],
    ['no final newline', signed.slice(0, -1)],
    ['a signature line without the em dash', signed.replace('\u2014', '-')],
  ])('refuses a note with %s', (_what, message) => {
    expect(() => parseSignedNote(message)).toThrow(NoteError);
  });

  it('generates keys that sign and verify, and refuses names the format forbids', () => {
    const signer = parseSignerKey(generateSignerKey('depotline-audit/test'));
    const note = parseSignedNote(signNote('a\n1\nb\n', signer));
    expect(verifyNoteSignature(note.text, note.signatures[0]!, parseVerifierKey(signer.verifierKey))).toBe(true);
    expect(() => generateSignerKey('a+b')).toThrow(NoteError);
    expect(() => generateSignerKey('')).toThrow(NoteError);
  });
});
