// The customer tracking page's live update: asks this page's status endpoint every 30 seconds
// and refreshes the figures in place. Same origin only, no cookies, no referrer; nothing else.
(function () {
  'use strict';
  var statusUrl = window.location.pathname.replace(/\/+$/, '') + '/status';
  var baseDelayMs = 30000;
  var fromQuery = /[?&]poll=(\d+)/.exec(window.location.search);
  if (fromQuery) baseDelayMs = Math.max(1000, Number(fromQuery[1]));
  var delayMs = baseDelayMs;
  var byId = function (id) { return document.getElementById(id); };

  function time(t, tz) {
    return new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit' }).format(t);
  }
  function day(t, tz) {
    return new Intl.DateTimeFormat('en-GB', { timeZone: tz, weekday: 'long', day: 'numeric', month: 'long' }).format(t);
  }
  function setRow(id, value) {
    var row = byId(id + '-row');
    if (!row) return;
    row.hidden = value === null;
    byId(id).textContent = value === null ? '' : value;
  }
  function render(v) {
    var main = document.querySelector('main');
    main.setAttribute('data-status', v.status);
    byId('depot').textContent = v.depot;
    var status = byId('status');
    status.textContent = v.statusText;
    status.className = 'status status-' + v.status;
    setRow('window', day(v.window.start, v.timezone) + ', ' + time(v.window.start, v.timezone) + '\u2013' + time(v.window.end, v.timezone));
    setRow('eta', v.eta === null ? null : time(v.eta, v.timezone));
    setRow('ahead', v.stopsBefore === null ? null : v.stopsBefore === 0 ? 'None: you are next' : String(v.stopsBefore));
    setRow('distance', v.approxDistanceKm === null ? null : 'About ' + v.approxDistanceKm + ' km');
    byId('pin-box').hidden = v.pin === null;
    byId('pin').textContent = v.pin === null ? '' : v.pin;
    byId('asof').textContent = time(v.asOf, v.timezone);
  }
  function ended() {
    var main = document.querySelector('main');
    main.setAttribute('data-state', 'inactive');
    main.textContent = '';
    var h1 = document.createElement('h1');
    h1.textContent = 'This link is no longer active';
    var p = document.createElement('p');
    p.textContent = 'Tracking links end some time after the delivery, or when the depot ends them. If you are still expecting a delivery, please contact the sender.';
    main.appendChild(h1);
    main.appendChild(p);
  }
  function poll() {
    fetch(statusUrl, { cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer', headers: { Accept: 'application/json' } })
      .then(function (res) {
        if (res.status === 404) { ended(); return null; }
        if (res.status === 429) { delayMs = Math.min(delayMs * 2, 300000); return null; }
        return res.ok ? res.json() : null;
      })
      .then(function (v) {
        if (v && v.active) { delayMs = baseDelayMs; render(v); }
        if (document.querySelector('main').getAttribute('data-state') === 'active') window.setTimeout(poll, delayMs);
      })
      .catch(function () { window.setTimeout(poll, delayMs); });
  }
  window.setTimeout(poll, delayMs);
})();
