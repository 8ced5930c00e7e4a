import crypto from 'node:crypto';
import { sealProof } from '../src/proofs/envelope';
import { insertProof, newProofId } from '../src/proofs/records';
import { proofFileStore, proofStorageKey } from '../src/proofs/storage';
import type { World } from './world';

/** A photo proof of a stop, sealed and stored as capture stores one, captured by the world's driver. Returns its id. */
export async function seedPhotoProof(w: World, stopId: string, locationId: string, photo: Uint8Array): Promise<string> {
  const { ctx } = w;
  const id = newProofId();
  const sealed = sealProof(ctx, photo, id);
  await proofFileStore(ctx).put(proofStorageKey(id), sealed.ciphertext);
  await insertProof(ctx, ctx.db, {
    id, stopId, locationId, kind: 'photo', capturedBy: { userId: w.users.driver.id, label: w.users.driver.username },
    deviceTime: ctx.now(), serverTime: ctx.now(), gps: { lat: 51.5, lng: -0.12, accuracyM: 5 }, distanceM: 3, suspicious: false,
    file: { contentType: 'image/jpeg', size: photo.byteLength, sha256: crypto.createHash('sha256').update(photo).digest('hex'), wrappedKey: sealed.wrappedKey, storageKey: proofStorageKey(id) },
    detail: {},
  });
  return id;
}
