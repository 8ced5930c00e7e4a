import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { CeremonyOptions, CeremonyStarted, CeremonyStatus, type AuthenticationResponseJson } from '@depotline/shared';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { restCall } from '../../../sync-server/test/factories';

/**
 * A browser tab with a CTAP2 virtual authenticator attached through the DevTools protocol
 * (`WebAuthn.addVirtualAuthenticator`): Chromium's real WebAuthn stack, with a software key
 * instead of a USB one. No part of WebAuthn is mocked; the authenticator signs for real.
 */
export interface KeyTab {
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
  close(): Promise<void>;
}

export async function openKeyTab(context: BrowserContext): Promise<KeyTab> {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { page, cdp, authenticatorId, close: () => page.close() };
}

/**
 * Runs a ceremony the way a user would: opens the URL the server handed out (its own origin),
 * presses the button, waits for the page's verdict. Returns the page's outcome and message.
 */
export async function runCeremonyPage(tab: KeyTab, started: CeremonyStarted): Promise<{ outcome: string; text: string }> {
  const state = async () => ({ outcome: (await tab.page.getAttribute('body', 'data-outcome')) ?? '', text: (await tab.page.textContent('#status')) ?? '' });
  const settle = async (selector: string) => {
    try {
      await tab.page.waitForSelector(selector, { state: 'attached', timeout: 10_000 });
    } catch {
      throw new Error(`the ceremony page did not settle: ${JSON.stringify(await state())}`);
    }
  };
  await tab.page.goto(started.ceremonyUrl);
  await settle('body[data-outcome="ready"], body[data-outcome="failed"]');
  if ((await state()).outcome === 'ready') {
    await tab.page.click('#go');
    await settle('body[data-outcome="done"], body[data-outcome="failed"]');
  }
  return state();
}

export async function poll(baseUrl: string, started: CeremonyStarted): Promise<CeremonyStatus> {
  const res = await restCall(baseUrl, 'POST', `/webauthn/ceremonies/${started.ceremonyId}/poll`, { body: { pollToken: started.pollToken } });
  if (res.status !== 200) throw new Error(`poll: ${res.status} ${JSON.stringify(res.body)}`);
  return CeremonyStatus.parse(res.body);
}

export async function answeredAssertion(baseUrl: string, started: CeremonyStarted): Promise<AuthenticationResponseJson> {
  const status = await poll(baseUrl, started);
  if (status.status !== 'answered') throw new Error(`expected an answered ceremony, got ${JSON.stringify(status)}`);
  return status.response;
}

export async function ceremonyOptions(baseUrl: string, started: CeremonyStarted): Promise<CeremonyOptions> {
  const res = await restCall(baseUrl, 'GET', `/webauthn/ceremonies/${started.ceremonyId}`);
  return CeremonyOptions.parse(res.body);
}

export function parseStarted(res: { status: number; body: unknown }): CeremonyStarted {
  if (res.status !== 201) throw new Error(`expected a ceremony, got ${res.status} ${JSON.stringify(res.body)}`);
  return CeremonyStarted.parse(res.body);
}

/** The browser bundle of @simplewebauthn/browser, for a page that is not the server's. */
export function simpleWebauthnBundle(): string {
  const entry = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  return fs.readFileSync(path.join(path.dirname(entry), '..', 'dist', 'bundle', 'index.umd.min.js'), 'utf8');
}

/** A look-alike site on another origin (another port of localhost): what a phishing proxy serves. */
export async function startLookAlikeSite(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html><head><title>Depotline sign-in</title></head><body><p>Touch your key</p></body></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://localhost:${port}/`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/**
 * An assertion signed with the credential's real private key (exported from the virtual
 * authenticator) over authenticator data naming another RP id. This isolates the RP id check:
 * the signature, challenge and origin are all valid, only the rpIdHash (W3C WebAuthn L3 section
 * 6.1) is not the server's. A browser would never produce it for this origin; a broken or
 * malicious authenticator, or a thief holding the key material, could.
 */
export function forgeAssertionForRpId(o: {
  credentialId: string; privateKeyPkcs8B64: string; rpId: string; origin: string; challenge: string; signCount: number;
}): AuthenticationResponseJson {
  const rpIdHash = crypto.createHash('sha256').update(o.rpId).digest();
  const flags = Buffer.from([0x01 | 0x04]); // user present, user verified
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(o.signCount);
  const authData = Buffer.concat([rpIdHash, flags, counter]);
  const clientData = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: o.challenge, origin: o.origin, crossOrigin: false }));
  const key = crypto.createPrivateKey({ key: Buffer.from(o.privateKeyPkcs8B64, 'base64'), format: 'der', type: 'pkcs8' });
  // Chromium's virtual authenticator takes the server's first algorithm it supports (EdDSA, then
  // ES256). ES256 signatures in WebAuthn are ASN.1 DER (L3 section 6.5.6), node's default.
  const signed = Buffer.concat([authData, crypto.createHash('sha256').update(clientData).digest()]);
  const signature = crypto.sign(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', signed, key);
  return {
    id: o.credentialId, rawId: o.credentialId, type: 'public-key', clientExtensionResults: {},
    response: { clientDataJSON: clientData.toString('base64url'), authenticatorData: authData.toString('base64url'), signature: signature.toString('base64url') },
  };
}
