import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openProof, ProofSealError, sealProof } from './envelope';
import { localProofFileStore } from './storage';

/** Envelope encryption and the local file store, without a server: pure functions and a temp directory. */
describe('proof envelope', () => {
  const ctx = { proofKey: crypto.randomBytes(32) };
  const bytes = new Uint8Array(crypto.randomBytes(5000));

  it('seals with a fresh data key per proof and opens only with the right key, proof id and untouched bytes', () => {
    const a = sealProof(ctx, bytes, 'pod_a');
    const b = sealProof(ctx, bytes, 'pod_a');
    expect(a.wrappedKey).not.toBe(b.wrappedKey);
    expect(Buffer.from(openProof(ctx, a.ciphertext, a.wrappedKey, 'pod_a')).equals(Buffer.from(bytes))).toBe(true);
    // Another proof's key, another id, a changed byte, another server key, a destroyed key: none opens.
    expect(() => openProof(ctx, a.ciphertext, b.wrappedKey, 'pod_a')).toThrow(ProofSealError);
    expect(() => openProof(ctx, a.ciphertext, a.wrappedKey, 'pod_b')).toThrow(ProofSealError);
    const changed = Uint8Array.from(a.ciphertext);
    changed[100] = changed[100]! ^ 1;
    expect(() => openProof(ctx, changed, a.wrappedKey, 'pod_a')).toThrow(ProofSealError);
    expect(() => openProof({ proofKey: crypto.randomBytes(32) }, a.ciphertext, a.wrappedKey, 'pod_a')).toThrow(/another proof key/);
    expect(() => openProof(ctx, a.ciphertext, null, 'pod_a')).toThrow(/destroyed/);
  });

  it('the local store keeps sealed bytes in files of mode 0600 and refuses keys that leave its directory', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-proofs-'));
    const store = localProofFileStore(dir);
    await store.put('proofs/pod_x', bytes);
    expect(Buffer.from((await store.get('proofs/pod_x'))!).equals(Buffer.from(bytes))).toBe(true);
    expect(fs.statSync(path.join(dir, 'proofs', 'pod_x')).mode & 0o777).toBe(0o600);
    await store.delete('proofs/pod_x');
    expect(await store.get('proofs/pod_x')).toBeNull();
    await store.delete('proofs/pod_x');
    await expect(store.put('../escape', bytes)).rejects.toThrow(/not a proof storage key/);
    await expect(store.get('proofs/../../etc/passwd')).rejects.toThrow(/not a proof storage key/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
