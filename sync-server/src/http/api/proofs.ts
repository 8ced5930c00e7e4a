import { EntityId, type GpsStamp, ProofFileQuery, ProofGpsBody, ProofScanBody, proofSha256Header } from '@depotline/shared';
import express, { type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { ServerContext } from '../../context';
import { authenticateAccessToken } from '../../auth/access-tokens';
import { AppError, unauthenticated } from '../../errors';
import { capturePhotoOrSignature, type CaptureResult, captureGps, captureScan } from '../../proofs/capture';
import { type ProofFile, proofFileFor, stopProofsFor, stopProofSummaryFor } from '../../proofs/views';
import type { LiveFeed } from '../../sync/mutations/handler';
import { type Endpoint, endpoint } from '../endpoint';

/**
 * Proof of delivery over REST (docs/api.md "Proof of delivery"), for the driver's device (capture)
 * and the console (views). Photos and signatures are raw image bodies, read only up to
 * DEPOTLINE_POD_MAX_FILE_BYTES: a larger upload is refused (413) from its Content-Length before
 * its body is read, or as soon as a streamed body passes the limit.
 */

const StopParams = z.object({ stopId: EntityId });
const ProofParams = z.object({ proofId: EntityId });
/** A raw body as express.raw leaves it; anything else (a JSON body, none at all) is not an image. */
const ImageBody = z.instanceof(Uint8Array, { message: 'send the image itself as the request body (Content-Type image/jpeg, image/png or image/webp)' });

const bearer = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i;

/**
 * Reads any body as raw bytes, bounded by the proof upload limit, and only for a caller whose
 * access token holds: a missing or dead token is answered `401` before a byte of the body is read
 * (the endpoint's own pipeline then authenticates and authorizes as always). A declared
 * Content-Length over the limit is answered at once; a streamed body is cut off as soon as it
 * passes the limit (what came is discarded, never stored). Both close the connection.
 */
function withRawBody(e: Endpoint): Endpoint {
  const authenticateFirst = (ctx: ServerContext): RequestHandler => async (req, res, next) => {
    const match = bearer.exec(req.headers.authorization ?? '');
    try {
      if (!match) throw unauthenticated();
      await authenticateAccessToken(ctx, match[1]!);
    } catch (err) {
      res.setHeader('Connection', 'close');
      throw err;
    }
    next();
  };
  const refuseDeclared = (ctx: ServerContext): RequestHandler => (req, res, next) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const limit = ctx.config.proofs.maxFileBytes;
    if (!(declared > limit)) return next();
    res.setHeader('Connection', 'close');
    next(new AppError('payload_too_large', 413, `The upload is ${declared} bytes; at most ${limit} are accepted. Nothing was read or stored.`));
  };
  return { ...e, handlers: (ctx: ServerContext) => [authenticateFirst(ctx), refuseDeclared(ctx), express.raw({ type: () => true, limit: ctx.config.proofs.maxFileBytes }), ...e.handlers(ctx)] };
}

const gpsOf = (q: ProofFileQuery): GpsStamp | null =>
  q.lat !== undefined && q.lng !== undefined ? { lat: q.lat, lng: q.lng, accuracyM: q.accuracyM ?? 0 } : null;

function sendFile(res: Response, file: ProofFile): void {
  res.status(200)
    .set('Content-Type', file.contentType)
    .set('Content-Disposition', `inline; filename="${file.proofId}.${file.contentType === 'image/png' ? 'png' : 'jpg'}"`)
    .set('Cache-Control', 'no-store')
    .set(proofSha256Header, file.sha256)
    .send(Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength));
}

export function proofEndpoints(live: LiveFeed): Endpoint[] {
  const published = (ctx: ServerContext, r: CaptureResult) => {
    live.publish(r.touched).catch((err: unknown) => ctx.log.error('live feed failed after a proof capture', { err: String(err) }));
    return { proof: r.proof };
  };
  const fileCapture = (kind: 'photo' | 'signature') => withRawBody(endpoint({
    method: 'post',
    path: `/stops/:stopId/proof/${kind}`,
    params: StopParams,
    query: ProofFileQuery,
    body: ImageBody,
    status: 201,
    handle: async ({ ctx, caller, now, audit, input: { params, query, body } }) => published(ctx, await capturePhotoOrSignature(
      { ctx, caller, now, audit }, params.stopId, kind, body, { deviceTime: query.deviceTime ?? null, gps: gpsOf(query) },
    )),
  }));
  return [
    fileCapture('photo'),
    fileCapture('signature'),
    endpoint({
      method: 'post',
      path: '/stops/:stopId/proof/scan',
      params: StopParams,
      body: ProofScanBody,
      status: 201,
      handle: async ({ ctx, caller, now, audit, input: { params, body } }) => published(ctx, await captureScan(
        { ctx, caller, now, audit }, params.stopId, { barcode: body.barcode, deviceTime: body.deviceTime ?? null, gps: body.gps ?? null },
      )),
    }),
    endpoint({
      method: 'post',
      path: '/stops/:stopId/proof/gps',
      params: StopParams,
      body: ProofGpsBody,
      status: 201,
      handle: async ({ ctx, caller, now, audit, input: { params, body } }) => published(ctx, await captureGps(
        { ctx, caller, now, audit }, params.stopId, { gps: body.gps, deviceTime: body.deviceTime ?? null },
      )),
    }),
    endpoint({
      method: 'get',
      path: '/stops/:stopId/proofs',
      params: StopParams,
      handle: ({ ctx, db, caller, now, audit, input: { params } }) => stopProofsFor({ ctx, db, caller, now, audit }, params.stopId),
    }),
    endpoint({
      method: 'get',
      path: '/stops/:stopId/proof-summary',
      params: StopParams,
      handle: ({ ctx, db, caller, now, audit, input: { params } }) => stopProofSummaryFor({ ctx, db, caller, now, audit }, params.stopId),
    }),
    endpoint({
      method: 'get',
      path: '/proofs/:proofId/file',
      params: ProofParams,
      handle: ({ ctx, db, caller, now, audit, input: { params } }) => proofFileFor({ ctx, db, caller, now, audit }, params.proofId),
      respond: sendFile,
    }),
  ];
}
