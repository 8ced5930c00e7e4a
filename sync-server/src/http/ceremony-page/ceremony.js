// The security-key ceremony page, served by the sync server from its own origin (the WebAuthn
// relying party; docs/security-model.md, "Security keys and the relying party"). It knows only
// the ceremony id in its URL fragment: it fetches the options, runs the browser's WebAuthn call
// through @simplewebauthn/browser (loaded before this file as the global SimpleWebAuthnBrowser),
// and posts the result back. The client that started the ceremony learns the outcome by polling.
// No inline script anywhere: the page's CSP is script-src 'self'.
'use strict';
(function () {
  var status = document.getElementById('status');
  var button = document.getElementById('go');
  var id = window.location.hash.slice(1);
  // Take the id out of the address bar and history; it was never sent to a server (a fragment).
  window.history.replaceState(null, '', window.location.pathname);
  // Opening another ceremony's link in this tab changes only the fragment, which does not load
  // the page again: start over, so one tab never mixes two ceremonies.
  window.addEventListener('hashchange', function () { window.location.reload(); });

  function finish(outcome, text) {
    status.textContent = text;
    document.body.dataset.outcome = outcome;
    button.hidden = true;
  }
  function errorText(body, fallback) {
    return body && body.error && typeof body.error.message === 'string' ? body.error.message : fallback;
  }

  if (!/^[A-Za-z0-9_-]{16,64}$/.test(id)) {
    finish('failed', 'This link is not valid. Start again from Depotline.');
    return;
  }
  var api = '/api/v1/webauthn/ceremonies/' + id;
  var ceremony = null;

  fetch(api, { headers: { accept: 'application/json' }, credentials: 'omit', cache: 'no-store' })
    .then(function (res) { return res.json().then(function (body) { return { ok: res.ok, body: body }; }); })
    .then(function (r) {
      if (!r.ok) { finish('failed', errorText(r.body, 'This request has expired. Start again from Depotline.')); return; }
      ceremony = r.body;
      status.textContent = ceremony.purpose === 'register'
        ? 'Insert or touch the security key you want to add to your account.'
        : 'Insert or touch one of your security keys to confirm it is you.';
      document.body.dataset.outcome = 'ready';
      button.hidden = false;
    })
    .catch(function () { finish('failed', 'The server could not be reached.'); });

  // A click starts the ceremony: some browsers require a user gesture for WebAuthn.
  button.addEventListener('click', function () {
    if (!ceremony) return;
    button.disabled = true;
    document.body.dataset.outcome = 'waiting';
    var lib = window.SimpleWebAuthnBrowser;
    var run = ceremony.purpose === 'register'
      ? lib.startRegistration({ optionsJSON: ceremony.options })
      : lib.startAuthentication({ optionsJSON: ceremony.options });
    run
      .then(function (response) {
        return fetch(api + '/answer', {
          method: 'POST', credentials: 'omit', cache: 'no-store',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ response: response }),
        });
      })
      .then(function (res) { return res.json().then(function (body) { return { ok: res.ok, body: body }; }); })
      .then(function (r) {
        if (r.ok) finish('done', 'Done. You can close this window and return to Depotline.');
        else finish('failed', errorText(r.body, 'The security key could not be used. Start again from Depotline.'));
      })
      .catch(function (err) {
        finish('failed', 'The security key did not respond (' + (err && err.name ? err.name : 'error') + '). Start again from Depotline.');
      });
  });
})();
