/*
 * Subscribes a browser to the city's notices by Web Push, with the single-use
 * enrolment token of an enrolment link (<public base>/push/enrol#<token>).
 * The enrolment page (GET /push/enrol) loads this script; it finds the button
 * marked data-oshirase-enrol and subscribes with the token from the URL
 * fragment, which browsers never send to a server. A city page may also call
 *
 *   oshirase.subscribe(enrolmentToken).then(...)
 *
 * from a click: browsers only ask for permission in answer to the resident's
 * own gesture. Service workers must come from the page's own origin, so the
 * API has to be reachable on the city site's origin (a reverse proxy path).
 * The request never names the resident: the token says whose device this is.
 */
(function () {
  'use strict';

  // document.currentScript is only set while this file first runs.
  const SCRIPT_URL = document.currentScript && document.currentScript.src ? document.currentScript.src : location.href;
  const API_BASE = new URL('.', SCRIPT_URL);
  const WORKER_URL = new URL('oshirase-sw.js', API_BASE).href;
  const PUSH_CACHE = 'oshirase-push';
  // What the service worker needs to move the registration when the push service renews the subscription.
  const SUBSCRIPTION_KEY = new URL('oshirase-subscription', API_BASE).href;
  const ENROLMENT_TOKEN = /^[A-Za-z0-9_-]{22,128}$/;

  /**
   * Subscribes this browser with an enrolment token and registers it with the
   * engine. Resolves to { endpoint }; rejects with an Error saying why (no
   * support, permission denied, link not valid, server refused).
   */
  async function subscribe(enrolmentToken) {
    if (typeof enrolmentToken !== 'string' || !ENROLMENT_TOKEN.test(enrolmentToken)) {
      throw new TypeError('oshirase.subscribe: enrolmentToken must be the code of an enrolment link (22-128 letters, digits, "-" or "_")');
    }
    if (!('serviceWorker' in navigator) || typeof PushManager === 'undefined' || typeof Notification === 'undefined') {
      throw new Error('oshirase.subscribe: this browser cannot receive web push notifications');
    }
    if (API_BASE.origin !== location.origin) {
      throw new Error("oshirase.subscribe: the script must be served from this page's origin (" + location.origin + '), not ' + API_BASE.origin);
    }
    // First, while the click's user activation is still fresh.
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') throw new Error('oshirase.subscribe: notifications were not allowed (' + permission + ')');

    const registration = await navigator.serviceWorker.register(WORKER_URL);
    await activated(registration);
    const key = await fetchVapidKey();
    let subscription = await registration.pushManager.getSubscription();
    if (subscription && !sameKey(subscription.options && subscription.options.applicationServerKey, key)) {
      // Made with an earlier key of the city: pushes signed with the current key would be refused.
      await subscription.unsubscribe();
      subscription = null;
    }
    if (!subscription) {
      subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    }
    const json = subscription.toJSON();
    await send('POST', { enrolmentToken: enrolmentToken, subscription: json });
    // The old endpoint and auth secret prove this browser's registration when the push service renews it.
    const cache = await caches.open(PUSH_CACHE);
    await cache.put(SUBSCRIPTION_KEY, new Response(JSON.stringify({ endpoint: json.endpoint, auth: json.keys.auth })));
    return { endpoint: subscription.endpoint };
  }

  /** Stops notices to this browser; resolves to true when there was a subscription. */
  async function unsubscribe() {
    if (!('serviceWorker' in navigator)) return false;
    const registration = await navigator.serviceWorker.getRegistration(API_BASE.href);
    const subscription = registration ? await registration.pushManager.getSubscription() : null;
    const cache = await caches.open(PUSH_CACHE);
    await cache.delete(SUBSCRIPTION_KEY);
    if (!subscription) return false;
    await send('DELETE', { endpoint: subscription.endpoint });
    await subscription.unsubscribe();
    return true;
  }

  /** pushManager.subscribe needs an active worker; a new registration is still installing. */
  function activated(registration) {
    if (registration.active) return Promise.resolve(registration);
    const worker = registration.installing || registration.waiting;
    if (!worker) return Promise.reject(new Error('oshirase.subscribe: the service worker did not install'));
    return new Promise(function (resolve, reject) {
      worker.addEventListener('statechange', function () {
        if (worker.state === 'activated') resolve(registration);
        else if (worker.state === 'redundant') reject(new Error('oshirase.subscribe: the service worker failed to install'));
      });
    });
  }

  async function fetchVapidKey() {
    const response = await fetch(new URL('vapid-public-key', API_BASE).href, { headers: { Accept: 'application/json' } });
    if (!response.ok) throw new Error('oshirase.subscribe: the VAPID key is not available (' + response.status + ')');
    const body = await response.json();
    return base64urlToBytes(body.publicKey);
  }

  async function send(method, body) {
    const response = await fetch(new URL('../push-subscriptions', API_BASE).href, {
      method: method,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      let detail = '';
      try {
        const problem = await response.json();
        detail = problem && problem.problems ? ': ' + problem.problems.join('; ') : problem && problem.error ? ': ' + problem.error : '';
      } catch (error) {
        detail = '';
      }
      throw new Error('oshirase: ' + method + ' /push-subscriptions answered ' + response.status + detail);
    }
  }

  function sameKey(buffer, bytes) {
    if (!buffer) return false;
    const other = new Uint8Array(buffer);
    if (other.length !== bytes.length) return false;
    for (let i = 0; i < bytes.length; i++) if (other[i] !== bytes[i]) return false;
    return true;
  }

  function base64urlToBytes(text) {
    const base64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
    const binary = atob(base64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  /** On the enrolment page: the button subscribes with the token in the fragment. */
  function wireEnrolmentPage() {
    if (typeof document.querySelector !== 'function') return;
    const button = document.querySelector('[data-oshirase-enrol]');
    if (!button) return;
    const status = document.querySelector('[data-oshirase-status]');
    const say = function (text) {
      if (status) status.textContent = text;
    };
    button.addEventListener('click', function () {
      const token = location.hash.replace(/^#/, '');
      if (!token) {
        say('このリンクは完全ではありません。届いたリンクをそのまま開いてください。 / This link is incomplete: open the link exactly as you received it.');
        return;
      }
      button.disabled = true;
      subscribe(token).then(
        function () {
          // Used up: keep it out of the address bar, bookmarks and history.
          if (window.history && typeof window.history.replaceState === 'function') window.history.replaceState(null, '', location.pathname);
          say("この端末でお知らせを受け取ります。 / This device will receive the city's notices.");
        },
        function (error) {
          button.disabled = false;
          say('登録できませんでした / Could not subscribe: ' + error.message);
        },
      );
    });
  }

  window.oshirase = Object.assign(window.oshirase || {}, { subscribe: subscribe, unsubscribe: unsubscribe });
  if (typeof document.readyState === 'string' && document.readyState === 'loading') document.addEventListener('DOMContentLoaded', wireEnrolmentPage);
  else wireEnrolmentPage();
})();
