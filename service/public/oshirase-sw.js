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
const PUSH_CACHE = 'oshirase-push';
// { endpoint, auth } of the subscription the engine knows, stored by oshirase-subscribe.js.
const SUBSCRIPTION_KEY = new URL('oshirase-subscription', API_BASE).href;

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
 * the browser has not already, and move the engine's registration to the new
 * one, proving the old one with its endpoint and auth secret (which only this
 * browser and the engine know). Without a stored subscription this browser
 * was never enrolled, and nothing is sent.
 */
async function renewSubscription(oldSubscription, newSubscription) {
  const previous = (await storedSubscription()) || fromSubscription(oldSubscription);
  if (!previous) return;
  let subscription = newSubscription;
  if (!subscription) {
    const key = await fetchVapidKey();
    subscription = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  const json = subscription.toJSON();
  const cache = await caches.open(PUSH_CACHE);
  const response = await postJson('POST', 'push-subscriptions/renewal', { previous: previous, subscription: json });
  if (response.status === 410) {
    // The engine no longer knows this browser: the resident has to open an enrolment link again.
    await cache.delete(SUBSCRIPTION_KEY);
    return;
  }
  if (!response.ok) throw new Error('oshirase: POST /push-subscriptions/renewal answered ' + response.status);
  await cache.put(SUBSCRIPTION_KEY, new Response(JSON.stringify({ endpoint: json.endpoint, auth: json.keys.auth })));
}

function fromSubscription(subscription) {
  if (!subscription) return null;
  const json = subscription.toJSON();
  return json && json.keys && typeof json.keys.auth === 'string' ? { endpoint: json.endpoint, auth: json.keys.auth } : null;
}

async function storedSubscription() {
  const cache = await caches.open(PUSH_CACHE);
  const response = await cache.match(SUBSCRIPTION_KEY);
  if (!response) return null;
  try {
    const stored = JSON.parse(await response.text());
    return stored && typeof stored.endpoint === 'string' && typeof stored.auth === 'string' ? { endpoint: stored.endpoint, auth: stored.auth } : null;
  } catch (error) {
    return null;
  }
}

async function fetchVapidKey() {
  const response = await fetch(new URL('vapid-public-key', API_BASE).href, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error('oshirase: VAPID key not available (' + response.status + ')');
  const body = await response.json();
  return base64urlToBytes(body.publicKey);
}

function postJson(method, path, body) {
  return fetch(new URL('../' + path, API_BASE).href, {
    method: method,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

function base64urlToBytes(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
