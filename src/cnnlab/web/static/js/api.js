// Thin fetch wrapper: JSON in, JSON out, errors as ApiError carrying the server's sentence.
// Every request carries the page's language so messages come back in it.

let lang = "en";
export function setApiLang(value) {
  lang = value;
}

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || "http";
    this.fields = err.fields || [];
  }
}

function withLang(path) {
  return path + (path.includes("?") ? "&" : "?") + "lang=" + encodeURIComponent(lang);
}

/** Server-Timing app;dur=… in ms, or null. */
function serverTime(res) {
  const header = res.headers.get("Server-Timing") || "";
  const m = /dur=([\d.]+)/.exec(header);
  return m ? Number(m[1]) : null;
}

async function handle(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) throw new ApiError(res.status, body);
  if (body && typeof body === "object") {
    Object.defineProperty(body, "_serverMs", { value: serverTime(res), enumerable: false });
  }
  return body;
}

export async function get(path, opts = {}) {
  return handle(await fetch(withLang(path), { signal: opts.signal }));
}

export async function post(path, data, opts = {}) {
  const res = await fetch(withLang(path), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(data ?? {}),
    signal: opts.signal,
  });
  return handle(res);
}

export async function postForm(path, form) {
  return handle(await fetch(withLang(path), { method: "POST", body: form }));
}

export function url(path) {
  return withLang(path);
}
