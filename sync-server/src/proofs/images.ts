import crypto from 'node:crypto';
import { type ProofFileKind, type ProofImageType, proofImageTypes, proofStoredType } from '@depotline/shared';
import { fileTypeFromBuffer } from 'file-type';
import sharp, { type Metadata } from 'sharp';
import { AppError, badRequest } from '../errors';

/**
 * Uploaded images (photos and signatures): the type is sniffed from the bytes, never taken from
 * the Content-Type header or a file name; the pixel count is bounded before anything is decoded
 * (a decompression bomb is refused from its header); the image is then decoded and re-encoded by
 * sharp (libvips), which drops EXIF, GPS and every other metadata block and any bytes appended
 * after the image. What is stored is the re-encoded image only.
 *
 * HEIC: the prebuilt sharp reads AVIF but not HEVC-coded HEIC (its libheif is built without the
 * HEVC decoder), so HEIC photos are refused with a clear message; devices send JPEG instead.
 */

/** What each kind accepts, as sniffed. A signature is drawn on the device and sent as PNG. */
const accepted: Readonly<Record<ProofFileKind, readonly ProofImageType[]>> = {
  photo: proofImageTypes,
  signature: ['image/png'],
};

const words: Readonly<Record<ProofFileKind, string>> = { photo: 'a JPEG, PNG or WebP image', signature: 'a PNG image' };

/** Long edge of what is stored: a photo larger than this is scaled down (proof, not print). */
const maxStoredEdge = 2560;

export interface PreparedImage {
  bytes: Uint8Array;
  contentType: 'image/jpeg' | 'image/png';
  sha256: string;
  width: number;
  height: number;
  /** What the upload was sniffed as. */
  sniffed: ProofImageType;
}

const unsupported = (kind: ProofFileKind, what: string) =>
  new AppError('unsupported_media_type', 415, `A ${kind} must be ${words[kind]}; this upload is ${what}. Nothing was stored.`);

/** Sniffs, bounds and re-encodes an uploaded image; refuses anything else with a clear error. */
export async function prepareProofImage(kind: ProofFileKind, upload: Uint8Array, maxPixels: number): Promise<PreparedImage> {
  if (upload.byteLength === 0) throw badRequest([`(body): the ${kind} image is empty`]);
  const sniffed = await fileTypeFromBuffer(upload);
  if (!sniffed) throw unsupported(kind, 'not an image of a known type');
  if (sniffed.mime === 'image/heic' || sniffed.mime === 'image/heif') throw unsupported(kind, 'HEIC, which this server cannot read');
  if (!(accepted[kind] as readonly string[]).includes(sniffed.mime)) throw unsupported(kind, sniffed.mime);

  const input = () => sharp(upload, { limitInputPixels: maxPixels, failOn: 'error', sequentialRead: true });
  let meta: Metadata;
  try {
    // The header alone (no pixel is decoded), without the bound, so a refusal can say the size.
    meta = await sharp(upload, { limitInputPixels: false, failOn: 'error' }).metadata();
  } catch {
    throw unsupported(kind, `a damaged ${sniffed.mime} file`);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width === 0 || height === 0) throw unsupported(kind, `a ${sniffed.mime} file without a readable size`);
  if (width * height > maxPixels) {
    throw new AppError('payload_too_large', 413, `The ${kind} is ${width} x ${height} pixels; at most ${maxPixels} pixels are accepted. Nothing was stored.`);
  }
  if ((meta.pages ?? 1) > 1) throw unsupported(kind, `an animated or multi-page ${sniffed.mime}`);

  const contentType = proofStoredType[kind];
  let out: Buffer;
  try {
    // rotate(): apply the EXIF orientation before the metadata is dropped, so the photo stays upright.
    const pipeline = input().rotate().resize({ width: maxStoredEdge, height: maxStoredEdge, fit: 'inside', withoutEnlargement: true });
    out = contentType === 'image/jpeg'
      ? await pipeline.jpeg({ quality: 85, mozjpeg: true }).toBuffer()
      : await pipeline.png({ compressionLevel: 9 }).toBuffer();
  } catch {
    throw unsupported(kind, `a damaged ${sniffed.mime} file`);
  }
  const stored = await sharp(out).metadata();
  return {
    bytes: new Uint8Array(out), contentType, sha256: crypto.createHash('sha256').update(out).digest('hex'),
    width: stored.width ?? width, height: stored.height ?? height, sniffed: sniffed.mime as ProofImageType,
  };
}
