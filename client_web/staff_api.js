// The staff HTTP API (docs/staff-api.md) from the staff page, with its sign-in cookie.

/** @param {string} path @param {RequestInit} [init] */
export async function api(path, init = {}) {
  const response = await fetch(path, {
    ...init,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
  });
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, body };
}
