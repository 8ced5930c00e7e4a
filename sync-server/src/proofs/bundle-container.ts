/**
 * The ZIP container of a dispute bundle, read as the server writes it (proofs/bundle-format.ts):
 * the signature covers the manifest and the manifest every file's bytes, so the container must
 * carry nothing besides them. Checked from the raw bytes before anything is inflated:
 *
 *   - the entries follow each other from byte 0, then the central directory, then the 22-byte
 *     end record: no bytes before, between or after them, no ZIP comment;
 *   - no extra fields, no entry comments, no directory entries (the server writes none), no
 *     ZIP64, no data descriptors, no encryption;
 *   - every entry bears the same time, within a day of the signed creation time (ZIP times are
 *     the writer's local time, so the zone is unknown).
 *
 * An entry the manifest does not list is refused by the caller, which knows the manifest.
 */

export interface ContainerEntry {
  name: string;
  compressedSize: number;
  size: number;
}

export interface Container {
  entries: ContainerEntry[];
  problems: string[];
}

const eocdSignature = 0x06054b50;
const centralSignature = 0x02014b50;
const localSignature = 0x04034b50;
const eocdBytes = 22;

/** The entries of the ZIP and everything in its container a server-made bundle would not hold. */
export function readContainer(zip: Uint8Array, maxEntries: number): Container {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const problems: string[] = [];
  const eocd = zip.byteLength - eocdBytes;
  if (eocd < 0 || u32(eocd) !== eocdSignature) {
    return { entries: [], problems: ['the ZIP does not end with its end record: it carries a comment or bytes after it'] };
  }
  const count = u16(eocd + 10);
  const cdSize = u32(eocd + 12);
  const cdOffset = u32(eocd + 16);
  if (u16(eocd + 4) !== 0 || u16(eocd + 6) !== 0 || u16(eocd + 8) !== count) problems.push('the ZIP spans several disks');
  if (count > maxEntries) return { entries: [], problems: ['the ZIP holds more than a bundle can'] };
  if (cdOffset + cdSize !== eocd) return { entries: [], problems: ['the ZIP has bytes between its directory and its end record'] };
  const entries: ContainerEntry[] = [];
  const times = new Set<number>();
  let at = cdOffset;
  let nextLocal = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > eocd || u32(at) !== centralSignature) return { entries, problems: [...problems, 'the ZIP directory is malformed'] };
    const flags = u16(at + 8);
    const compressedSize = u32(at + 20);
    const size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    const localOffset = u32(at + 42);
    const name = new TextDecoder('utf-8', { fatal: false }).decode(zip.subarray(at + 46, at + 46 + nameLength));
    times.add(u32(at + 12));
    if (flags & 0x9) problems.push(`${name}: encrypted or with a data descriptor (a bundle has neither)`);
    if (extraLength !== 0 || commentLength !== 0) problems.push(`${name}: carries extra fields or a comment (a bundle has none)`);
    if (name.endsWith('/')) problems.push(`${name}: a directory entry (a bundle has none)`);
    if (localOffset !== nextLocal || localOffset + 30 > cdOffset || u32(localOffset) !== localSignature) {
      problems.push(`${name}: bytes before or between the ZIP's entries`);
    } else {
      const localName = u16(localOffset + 26);
      const localExtra = u16(localOffset + 28);
      const same = u32(localOffset + 10) === u32(at + 12) && u32(localOffset + 18) === compressedSize && u32(localOffset + 22) === size;
      if (localExtra !== 0 || localName !== nameLength || !same) problems.push(`${name}: its entry header differs from the directory`);
      nextLocal = localOffset + 30 + localName + localExtra + compressedSize;
    }
    entries.push({ name, compressedSize, size });
    at += 46 + nameLength + extraLength + commentLength;
  }
  if (at !== eocd) problems.push('the ZIP directory holds more than its entries');
  if (nextLocal !== cdOffset && problems.length === 0) problems.push('the ZIP has bytes between its last entry and its directory');
  if (times.size > 1) problems.push('the ZIP entries bear different times (a bundle gives all of them its creation time)');
  return { entries, problems };
}

/** Whether the DOS date-time the entries bear is the signed creation time in some time zone. */
export function entryTimeMatches(zip: Uint8Array, createdAt: number): boolean {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const eocd = zip.byteLength - eocdBytes;
  const count = view.getUint16(eocd + 10, true);
  if (count === 0) return true;
  const dos = view.getUint32(view.getUint32(eocd + 16, true) + 12, true);
  const time = dos & 0xffff;
  const date = dos >>> 16;
  const asIfUtc = Date.UTC(1980 + (date >>> 9), ((date >>> 5) & 0xf) - 1, date & 0x1f, time >>> 11, (time >>> 5) & 0x3f, (time & 0x1f) * 2);
  return Math.abs(asIfUtc - createdAt) <= 14 * 3600_000 + 2000;
}
