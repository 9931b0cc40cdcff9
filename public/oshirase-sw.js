/*
 * Oshirase service worker: shows the city's notices sent by Web Push.
 * Served by the Oshirase API at <api>/push/oshirase-sw.js and registered by
 * oshirase-subscribe.js with its default scope (<api>/push/): a worker does
 * not need to control the city's pages to receive pushes, and its own scope
 * never displaces a service worker the city's site already has.
 */
'use strict';

// The API lives next to this script; a reverse proxy may mount it under any prefix.
const API_BASE = new URL('.', self.location.href);
const RESIDENT_CACHE = 'oshirase-push';
const RESIDENT_KEY = new URL('oshirase-resident', API_BASE).href;

self.addEventListener('install', () => {
  // Nothing to cache: take over from an older version at once.
  self.skipWaiting();
});

self.addEventListener('push', (event) => {
  event.waitUntil(showNotice(event.data));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = event.notification.data && event.notification.data.url;
  if (typeof url === 'string' && url) event.waitUntil(openOrFocus(url));
});

self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil(renewSubscription(event.oldSubscription || null, event.newSubscription || null));
});

/** The payload is JSON from the engine: { title, body, url, tag, lang, icon? }. */
function readNotice(data) {
  if (!data) return null;
  try {
    const notice = data.json();
    return notice && typeof notice === 'object' && typeof notice.title === 'string' ? notice : null;
  } catch (error) {
    return null;
  }
}

function showNotice(data) {
  const notice = readNotice(data);
  if (!notice) {
    // Subscribed with userVisibleOnly: every push must show something, or the browser shows its own message.
    return self.registration.showNotification('お知らせ / Notice', { body: '', data: {} });
  }
  const options = {
    body: typeof notice.body === 'string' ? notice.body : '',
    data: { url: safeUrl(notice.url) },
  };
  // The same tag replaces an earlier notification of the same notice instead of stacking a copy.
  if (typeof notice.tag === 'string' && notice.tag) options.tag = notice.tag;
  if (typeof notice.lang === 'string' && notice.lang) options.lang = notice.lang;
  if (typeof notice.icon === 'string' && safeUrl(notice.icon)) options.icon = notice.icon;
  return self.registration.showNotification(notice.title, options);
}

/** Only http(s) links are opened: a notice must never run script through a javascript: URL. */
function safeUrl(value) {
  if (typeof value !== 'string' || !value) return null;
  try {
    const url = new URL(value, self.location.href);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch (error) {
    return null;
  }
}

async function openOrFocus(url) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const client of windows) {
    if (client.url === url && typeof client.focus === 'function') return client.focus();
  }
  return self.clients.openWindow(url);
}

/**
 * The push service replaced or expired the subscription: subscribe again if
 * the browser has not already, tell the engine the new endpoint, and forget
 * the old one. The resident id was stored by oshirase.subscribe().
 */
async function renewSubscription(oldSubscription, newSubscription) {
  const residentId = await storedResidentId();
  if (!residentId) return;
  let subscription = newSubscription;
  if (!subscription) {
    const key = await fetchVapidKey();
    subscription = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  await postJson('POST', { residentId: residentId, subscription: subscription.toJSON() });
  if (oldSubscription && oldSubscription.endpoint !== subscription.endpoint) {
    await postJson('DELETE', { endpoint: oldSubscription.endpoint });
  }
}

async function storedResidentId() {
  const cache = await caches.open(RESIDENT_CACHE);
  const response = await cache.match(RESIDENT_KEY);
  return response ? (await response.text()).trim() : '';
}

async function fetchVapidKey() {
  const response = await fetch(new URL('vapid-public-key', API_BASE).href, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error('oshirase: VAPID key not available (' + response.status + ')');
  const body = await response.json();
  return base64urlToBytes(body.publicKey);
}

async function postJson(method, body) {
  const response = await fetch(new URL('../push-subscriptions', API_BASE).href, {
    method: method,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error('oshirase: ' + method + ' /push-subscriptions answered ' + response.status);
}

function base64urlToBytes(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
