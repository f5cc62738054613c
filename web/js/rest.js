// REST calls to /api/v1 on the node the page is using (it changes on
// failover, so the base is asked for each call). Errors become ApiError
// with the server's stable code and its message for people.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class Rest {
  // base(): the node's origin ("" for this page's own); token(): bearer.
  constructor(base = () => "", token = () => null) {
    this.base = base;
    this.token = token;
  }

  async call(method, path, { body, csv, file, minIndex } = {}) {
    const headers = {};
    const token = this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    let payload;
    if (file !== undefined) {
      headers["Content-Type"] = file.type || "application/octet-stream";
      payload = file;
    } else if (csv !== undefined) {
      headers["Content-Type"] = "text/csv";
      payload = csv;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let url = this.base() + path;
    if (minIndex) url += (url.includes("?") ? "&" : "?") + `min_index=${minIndex}`;
    let res;
    try {
      res = await fetch(url, { method, headers, body: payload, cache: "no-store" });
    } catch (e) {
      throw new ApiError(0, "network", "the node did not answer (network error)");
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = text;
    }
    if (!res.ok) {
      const err = data && data.error;
      throw new ApiError(res.status, err?.code || `http_${res.status}`, err?.message || `${res.status} ${res.statusText}`);
    }
    return data;
  }

  get(path, opts) {
    return this.call("GET", path, opts);
  }
  post(path, body, opts = {}) {
    return this.call("POST", path, { ...opts, body });
  }
  postCsv(path, csv) {
    return this.call("POST", path, { csv });
  }
  // Upload a file (a Blob) as the body, with its own type.
  putFile(path, file) {
    return this.call("PUT", path, { file });
  }
  delete(path) {
    return this.call("DELETE", path);
  }
}

// One place that keeps staff and bidder tokens. localStorage is per origin:
// a bidder who opens another node's address registers again there.
export const store = {
  get(key) {
    try {
      return JSON.parse(localStorage.getItem(`paddle.${key}`));
    } catch {
      return null;
    }
  },
  set(key, value) {
    if (value === null || value === undefined) localStorage.removeItem(`paddle.${key}`);
    else localStorage.setItem(`paddle.${key}`, JSON.stringify(value));
  },
};
