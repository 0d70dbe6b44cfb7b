// Staff's link secrets (end-to-end encryption, docs/e2ee.md "Keys"): one per call, made in
// this page and added to the fragment of the links it shows. They are kept in this tab's
// sessionStorage, so a reload can rejoin; closing the tab forgets them, and the server
// never sees them.

import { fromBase64url, randomSecret, toBase64url } from "./e2ee_keys.js";

const STORE = "quietroom-link-secrets";

/** @returns {Record<string, string>} call id -> secret, base64url */
function stored() {
  try {
    const value = JSON.parse(sessionStorage.getItem(STORE) || "{}");
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

/** @param {Record<string, string>} secrets */
function store(secrets) {
  if (Object.keys(secrets).length) sessionStorage.setItem(STORE, JSON.stringify(secrets));
  else sessionStorage.removeItem(STORE);
}

/** The call's link secret, made now if this tab has none for it. @param {string} callId */
export function secretFor(callId) {
  const secrets = stored();
  if (!secrets[callId]) {
    secrets[callId] = toBase64url(randomSecret());
    store(secrets);
  }
  return fromBase64url(secrets[callId]);
}

/** A link of the call as staff share it: the server's link and, in its fragment, the secret. @param {string} link @param {string} callId */
export function withSecret(link, callId) {
  return `${link}.${toBase64url(secretFor(callId))}`;
}

/** Forget the secrets of calls that are no longer there. @param {string[]} callIds */
export function keepOnly(callIds) {
  const secrets = stored();
  const wanted = new Set(callIds);
  for (const id of Object.keys(secrets)) if (!wanted.has(id)) delete secrets[id];
  store(secrets);
}
