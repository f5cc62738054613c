// The page's connection to the cluster: one WebSocket to one node at a
// time, with hello/resume, pings for the server clock, and failover.
//
// Why it works the way it does:
// - Every sale the page follows is resubscribed after a reconnect with
//   `since`, so the node replays exactly what was missed (the page drops
//   the few events it already had, keyed by index and seq).
// - When the node is gone, the page tries it once more, then the other
//   nodes of the cluster list (`GET /api/v1/cluster` -> `http_addr`).
// - A node that lost the leader is "stale": it still serves what it has,
//   but refuses bids; after a while the page looks for a fresher node.
// - A socket that hears nothing for a while is treated as dead: a node
//   that was powered off may never send a close.

import { ServerClock } from "./clock.js";

const PING_BURST = 5;
const PING_EVERY_MS = 5000;
const SILENCE_MS = 12000;
const WELCOME_MS = 6000;
const STALE_FAILOVER_MS = 8000;

export class Link {
  // token(): the bearer token or null; onMessage(msg): every message for
  // the page; onState(state): the badge's input.
  constructor({ token = () => null, onMessage = () => {}, onState = () => {} } = {}) {
    this.token = token;
    this.onMessage = onMessage;
    this.onState = onState;
    this.clock = new ServerClock();
    this.nodes = [location.origin];
    this.cur = 0;
    this.follows = new Map();
    this.ws = null;
    this.failures = 0;
    this.rotate = false;
    this.state = { kind: "connecting", node: location.origin };
    this.staleSince = null;
    this.history = [];
    setInterval(() => this.watch(), 1000);
    addEventListener("online", () => this.kick());
    addEventListener("offline", () => this.setState({ kind: "offline" }));
  }

  // The HTTP origin of the node in use (REST goes there too).
  base() {
    return this.nodes[this.cur] || location.origin;
  }

  start() {
    if (!this.ws) this.connect();
  }

  // Follow a sale; since() gives the largest index the page has applied.
  follow(sale, since) {
    this.follows.set(sale, since);
    if (this.ready()) this.subscribe(sale);
  }

  unfollow(sale) {
    this.follows.delete(sale);
    this.send({ type: "unsubscribe", sale });
  }

  ready() {
    return this.ws && this.ws.readyState === WebSocket.OPEN && this.welcomed;
  }

  // Send if connected; false tells the caller to wait for the next welcome.
  send(msg) {
    if (!this.ready()) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  // The largest index any followed sale has reached (hello.since).
  maxIndex() {
    let max = 0;
    for (const since of this.follows.values()) max = Math.max(max, since() || 0);
    return max;
  }

  subscribe(sale) {
    const since = this.follows.get(sale)?.();
    // One index back: if the socket died between two events of the same
    // index, resuming at that index itself would lose the second one.
    const msg = { type: "subscribe", sale };
    if (since) msg.since = Math.max(0, since - 1);
    this.send(msg);
  }

  connect() {
    const base = this.base();
    let ws;
    try {
      ws = new WebSocket(base.replace(/^http/, "ws") + "/ws");
    } catch {
      this.closed(null);
      return;
    }
    this.ws = ws;
    this.welcomed = false;
    this.heard = performance.now();
    this.opened = performance.now();
    ws.onopen = () => {
      const hello = { type: "hello" };
      const token = this.token();
      if (token) hello.token = token;
      const since = this.maxIndex();
      if (since) hello.since = Math.max(0, since - 1);
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (e) => this.frame(ws, e.data);
    ws.onclose = () => this.closed(ws);
    ws.onerror = () => {};
  }

  frame(ws, data) {
    if (ws !== this.ws) return;
    this.heard = performance.now();
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (msg.server_time_ms) this.clock.seed(msg.server_time_ms);
    switch (msg.type) {
      case "welcome":
        this.welcomed = true;
        this.failures = 0;
        this.nodeId = msg.node_id;
        this.role = msg.role;
        for (const sale of this.follows.keys()) this.subscribe(sale);
        this.pings = 0;
        this.ping();
        this.refreshNodes();
        this.setState({ kind: "live" });
        break;
      case "pong":
        this.clock.onPong(msg);
        if (this.pings < PING_BURST) setTimeout(() => this.ping(), 300);
        return;
      case "node_status":
        if (msg.stale) {
          this.staleSince ??= performance.now();
          this.setState({
            kind: "stale",
            index: msg.applied_index,
            secs: msg.leader_contact_secs,
            at: performance.now(),
          });
        } else {
          this.staleSince = null;
          if (this.state.kind !== "live") this.setState({ kind: "live" });
        }
        break;
      case "error":
        if (msg.code === "unauthorized") this.token = () => null;
        break;
    }
    this.onMessage(msg);
  }

  ping() {
    this.pings = (this.pings || 0) + 1;
    this.send(this.clock.ping());
  }

  closed(ws) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.welcomed = false;
    this.failures += 1;
    // Try the same node once (a blip), then walk the cluster list.
    if ((this.rotate || this.failures > 1) && this.nodes.length > 1) {
      this.cur = (this.cur + 1) % this.nodes.length;
    }
    this.rotate = false;
    this.staleSince = null;
    const allTried = this.failures > this.nodes.length * 2 + 1;
    const offline = navigator.onLine === false || allTried;
    this.setState({ kind: offline ? "offline" : "reconnecting", tries: this.failures });
    const delay = Math.min(250 * 2 ** Math.min(this.failures - 1, 4), 4000);
    setTimeout(() => this.connect(), delay);
  }

  // Start over on the same node (the token changed: a new hello is needed).
  restart() {
    this.failures = 0;
    if (this.ws) {
      this.failures = -1; // closed() counts this close; it is not a failure
      this.ws.close();
    } else {
      this.connect();
    }
  }

  // Reconnect now (the browser says the network is back).
  kick() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return;
    this.failures = 0;
  }

  // Drop a socket that went silent or never said welcome; leave a node
  // that stays stale for a fresher one.
  watch() {
    const ws = this.ws;
    if (!ws) return;
    const now = performance.now();
    if (this.welcomed) {
      if (now - this.heard > PING_EVERY_MS - 500) this.ping();
      if (now - this.heard > SILENCE_MS) ws.close();
      if (this.staleSince && now - this.staleSince > STALE_FAILOVER_MS && this.nodes.length > 1) {
        this.rotate = true;
        ws.close();
      }
    } else if (now - this.opened > WELCOME_MS) {
      ws.close();
    }
    if (this.state.kind === "stale") this.onState(this.state);
  }

  setState(s) {
    this.state = { ...s, node: this.base(), nodeId: this.nodeId };
    // The last states, for support (and the failover test) to see the path.
    this.history.push({ kind: s.kind, node: this.state.node });
    if (this.history.length > 50) this.history.shift();
    this.onState(this.state);
  }

  // Learn every node's address from the cluster list; keep the list we
  // had if this node cannot say (it may be cut off).
  async refreshNodes() {
    try {
      const res = await fetch(this.base() + "/api/v1/cluster", { cache: "no-store" });
      if (!res.ok) return;
      const body = await res.json();
      const here = this.base();
      const seen = new Set(this.nodes);
      for (const n of body.nodes || []) {
        const origin = originOf(n.http_addr);
        if (origin && !seen.has(origin)) {
          this.nodes.push(origin);
          seen.add(origin);
        }
      }
      this.cur = Math.max(0, this.nodes.indexOf(here));
    } catch {
      // Keep the known list: failover still works with it.
    }
  }
}

// "127.0.0.1:8080" -> "http://127.0.0.1:8080"; a wildcard bind address is
// reached through the host name this page used.
export function originOf(addr) {
  if (!addr) return null;
  let a = String(addr).replace(/^https?:\/\//, "");
  a = a.replace(/^0\.0\.0\.0(?=:)/, location.hostname).replace(/^\[::\](?=:)/, location.hostname);
  return `${location.protocol}//${a}`;
}
