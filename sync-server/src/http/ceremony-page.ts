import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type Router } from 'express';

/**
 * The security-key ceremony page, on the server's own origin (docs/security-model.md,
 * "Security keys and the relying party"). The console's origin is `app://depotline`, which no
 * WebAuthn relying-party id can match, so the ceremony runs where one can: here, in a browser
 * (RFC 8252: native apps hand the user to a browser for authentication).
 *
 * Three fixed files, read once at start-up: the HTML, its script, and the prebuilt browser
 * bundle of @simplewebauthn/browser from node_modules (no build step). The page's policy allows
 * scripts and requests only to this origin, nothing inline, no framing, no caching, and no
 * referrer, so the ceremony id in the fragment cannot leak.
 */

const pageCsp = [
  "default-src 'none'", "script-src 'self'", "connect-src 'self'", "img-src 'self'",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

interface Asset { type: string; body: Buffer }

function loadAssets(): Record<string, Asset> {
  const here = path.join(import.meta.dirname, 'ceremony-page');
  // The package exports only its CommonJS and ES entry points; its UMD bundle sits next to them.
  const browserEntry = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  const bundle = path.join(path.dirname(browserEntry), '..', 'dist', 'bundle', 'index.umd.min.js');
  const js = 'text/javascript; charset=utf-8';
  return {
    '/webauthn/ceremony': { type: 'text/html; charset=utf-8', body: fs.readFileSync(path.join(here, 'ceremony.html')) },
    '/webauthn/ceremony.js': { type: js, body: fs.readFileSync(path.join(here, 'ceremony.js')) },
    '/webauthn/simplewebauthn-browser.js': { type: js, body: fs.readFileSync(bundle) },
  };
}

export function ceremonyPageRouter(): Router {
  const assets = loadAssets();
  const router = express.Router();
  for (const [route, asset] of Object.entries(assets)) {
    router.get(route, (_req, res) => {
      res.setHeader('Content-Security-Policy', pageCsp);
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.type(asset.type).send(asset.body);
    });
  }
  return router;
}
