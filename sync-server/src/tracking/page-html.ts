import type { TrackingView } from '@depotline/shared';

/**
 * The tracking page's HTML, rendered on the server from the public view alone (view.ts), so it
 * reads without scripts; /t/assets/track.js then refreshes it from the status endpoint. No
 * inline script or style (the page's policy forbids both), no third-party asset, no form.
 */

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function formatTime(t: number, timezone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: '2-digit', minute: '2-digit' }).format(t);
}

function formatDay(t: number, timezone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: timezone, weekday: 'long', day: 'numeric', month: 'long' }).format(t);
}

export function windowText(v: Pick<TrackingView, 'window' | 'timezone'>): string {
  return `${formatDay(v.window.start, v.timezone)}, ${formatTime(v.window.start, v.timezone)}–${formatTime(v.window.end, v.timezone)}`;
}

function shell(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/t/assets/track.css">
</head>
<body>
${body}
</body>
</html>
`;
}

const row = (id: string, label: string, value: string | null) =>
  `<div class="row" id="${id}-row"${value === null ? ' hidden' : ''}><dt>${label}</dt><dd id="${id}">${escapeHtml(value ?? '')}</dd></div>`;

export function activePage(v: TrackingView): string {
  const stopsBefore = v.stopsBefore === null ? null : v.stopsBefore === 0 ? 'None: you are next' : String(v.stopsBefore);
  return shell(`Your delivery from ${v.depot}`, `<main data-state="active" data-status="${v.status}">
<p class="depot" id="depot">${escapeHtml(v.depot)}</p>
<h1>Your delivery</h1>
<p class="status status-${v.status}" id="status" role="status" aria-live="polite">${escapeHtml(v.statusText)}</p>
<dl>
${row('window', 'Delivery window', windowText(v))}
${row('eta', 'Estimated arrival', v.eta === null ? null : formatTime(v.eta, v.timezone))}
${row('ahead', 'Stops before yours', stopsBefore)}
${row('distance', 'Driver distance', v.approxDistanceKm === null ? null : `About ${v.approxDistanceKm} km`)}
</dl>
<section class="pin" id="pin-box"${v.pin === null ? ' hidden' : ''} aria-labelledby="pin-title">
<h2 id="pin-title">Your delivery PIN</h2>
<p class="pin-code" id="pin">${escapeHtml(v.pin ?? '')}</p>
<p>Give this PIN to the driver at the door. Nobody from the depot will ask you for it by phone.</p>
</section>
<p class="updated">Updated at <span id="asof">${formatTime(v.asOf, v.timezone)}</span>. This page refreshes by itself.</p>
</main>
<script src="/t/assets/track.js"></script>`);
}

/** The one page for unknown, expired and revoked links: nothing about any order. */
export function inactivePage(): string {
  return shell('Delivery tracking', `<main data-state="inactive">
<h1>This link is no longer active</h1>
<p>Tracking links end some time after the delivery, or when the depot ends them. If you are still expecting a delivery, please contact the sender.</p>
</main>`);
}

/** Too many requests: no detail, a time to come back. */
export function busyPage(retryAfterS: number): string {
  return shell('Delivery tracking', `<main data-state="busy">
<h1>Too many requests</h1>
<p>Please try again in ${retryAfterS} seconds.</p>
</main>`);
}
