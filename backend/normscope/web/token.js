// The presenter token arrives once as ?token=…; the page keeps it so later links need not carry it.
export function presenterToken() {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get("token");
  if (fromUrl) {
    localStorage.setItem("normscope-token", fromUrl);
    url.searchParams.delete("token");
    history.replaceState(null, "", url);
  }
  return localStorage.getItem("normscope-token");
}

export async function api(path, options = {}) {
  const token = presenterToken();
  const headers = { "Content-Type": "application/json", ...(options.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(path, { ...options, headers });
  const body = res.status === 204 ? null : await res.json();
  if (!res.ok) throw Object.assign(new Error(`${res.status}`), { status: res.status, body });
  return body;
}
