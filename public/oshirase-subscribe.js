/*
 * Lets a city page offer the city's notices by Web Push:
 *
 *   <script src="/oshirase/push/oshirase-subscribe.js"></script>
 *   <button onclick="oshirase.subscribe('R-1001').then(...)">通知を受け取る</button>
 *
 * Call subscribe() from a click: browsers only ask for permission in answer
 * to the resident's own gesture. Service workers must come from the page's
 * own origin, so the API has to be reachable on the city site's origin
 * (a reverse proxy path), not on another host.
 */
(function () {
  'use strict';

  // document.currentScript is only set while this file first runs.
  const SCRIPT_URL = document.currentScript && document.currentScript.src ? document.currentScript.src : location.href;
  const API_BASE = new URL('.', SCRIPT_URL);
  const WORKER_URL = new URL('oshirase-sw.js', API_BASE).href;
  const RESIDENT_CACHE = 'oshirase-push';
  const RESIDENT_KEY = new URL('oshirase-resident', API_BASE).href;
  const RESIDENT_ID = /^[A-Za-z0-9._-]{1,100}$/;

  /**
   * Subscribes this browser to the resident's notices and registers it with
   * the engine. Resolves to { endpoint }; rejects with an Error saying why
   * (no support, permission denied, server refused).
   */
  async function subscribe(residentId) {
    if (typeof residentId !== 'string' || !RESIDENT_ID.test(residentId)) {
      throw new TypeError('oshirase.subscribe: residentId must be 1-100 letters, digits, ".", "_" or "-"');
    }
    if (!('serviceWorker' in navigator) || typeof PushManager === 'undefined' || typeof Notification === 'undefined') {
      throw new Error('oshirase.subscribe: this browser cannot receive web push notifications');
    }
    if (API_BASE.origin !== location.origin) {
      throw new Error('oshirase.subscribe: the script must be served from this page\'s origin (' + location.origin + '), not ' + API_BASE.origin);
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
    await send('POST', { residentId: residentId, subscription: subscription.toJSON() });
    // The worker needs the resident when the push service renews the subscription on its own.
    const cache = await caches.open(RESIDENT_CACHE);
    await cache.put(RESIDENT_KEY, new Response(residentId));
    return { endpoint: subscription.endpoint };
  }

  /** Stops notices to this browser; resolves to true when there was a subscription. */
  async function unsubscribe() {
    if (!('serviceWorker' in navigator)) return false;
    const registration = await navigator.serviceWorker.getRegistration(API_BASE.href);
    const subscription = registration ? await registration.pushManager.getSubscription() : null;
    const cache = await caches.open(RESIDENT_CACHE);
    await cache.delete(RESIDENT_KEY);
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

  window.oshirase = Object.assign(window.oshirase || {}, { subscribe: subscribe, unsubscribe: unsubscribe });
})();
