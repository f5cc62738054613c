// The operator's view of the cluster: every node with its role, applied
// index, lag and health; membership changes; the exact join command for a
// new node; and live metrics (bids/s from the committed bid events'
// stamps, clients per node from the cluster list, leader, commit index).
// Each node's clock is shown against cluster time; a node off by more than
// the skew bound is flagged (its pages and stamps still use cluster time).

import { $, h, setText, show } from "./dom.js";

const REFRESH_MS = 2000;
const RATE_WINDOW_MS = 10000;

export class Cluster {
  constructor(link, rest, feed, say) {
    this.link = link;
    this.rest = rest;
    this.feed = feed;
    this.say = say;
    this.stamps = [];
  }

  start() {
    this.refresh();
    setInterval(() => this.refresh(), REFRESH_MS);
    setInterval(() => this.rate(), 1000);
    $("#btn-add-node").addEventListener("click", () => this.showJoin());
    $("#btn-copy").addEventListener("click", () => navigator.clipboard?.writeText($("#join-cmd").textContent).then(() => this.say(true, "✓ Join command copied")));
  }

  // A committed bid (its leader stamp), for bids per second.
  countEvent(e) {
    if (e.event.type === "bid_accepted") this.stamps.push(e.stamp_ms);
  }

  rate() {
    const now = this.link.clock.now();
    if (now === null) return;
    this.stamps = this.stamps.filter((t) => t > now - RATE_WINDOW_MS);
    const perSec = (this.stamps.length * 1000) / RATE_WINDOW_MS;
    setText($("#m-bps"), perSec.toFixed(1));
  }

  async refresh() {
    let status;
    try {
      status = await this.rest.get("/api/v1/cluster");
    } catch {
      return;
    }
    setText($("#m-leader"), status.leader == null ? "none" : `node ${status.leader}`);
    setText($("#m-commit"), String(status.committed));
    $("#node-rows").replaceChildren(...status.nodes.map((n) => this.row(n, status)));
    this.clients(status.nodes);
    this.clockNote(status);
  }

  // A node's clock against cluster time: "+0.002 s", or a warning.
  clockCell(n, status) {
    if (n.clock_offset_ms == null) return h("td", { class: "muted" }, "—");
    const secs = n.clock_offset_ms / 1000;
    const text = `${secs >= 0 ? "+" : "−"}${Math.abs(secs).toFixed(3)} s`;
    if (!n.clock_skewed) return h("td", { class: "num", dataset: { clock: "ok" } }, text);
    const bound = (status.max_skew_ms / 1000).toFixed(1);
    return h(
      "td",
      { class: "num health-bad", dataset: { clock: "skewed" }, title: `More than ${bound} s from cluster time: fix this machine's clock` },
      `⚠ ${text}`,
    );
  }

  clockNote(status) {
    const skewed = status.nodes.filter((n) => n.clock_skewed).map((n) => `node ${n.id}`);
    const note = $("#clock-note");
    if (!status.clock_agreed) {
      setText(note, "⚠ The voters' clocks are not in agreement (too few measured, or two disagree): cluster time carries on from the last agreement.");
    } else if (skewed.length) {
      setText(note, `⚠ Clock off on ${skewed.join(", ")}: deadlines follow cluster time (the voters' median), not those machines' clocks. Set their clocks right.`);
    } else {
      setText(note, "");
    }
    show(note, !status.clock_agreed || skewed.length > 0);
  }

  row(n, status) {
    const act = (what, label, cls = "") => h("button", { class: `btn small ${cls}`, type: "button", onclick: () => this.change(n.id, what) }, label);
    return h(
      "tr",
      { dataset: { node: n.id, role: n.role } },
      h("td", {}, `${n.id}${n.id === status.answered_by ? " (this one)" : ""}`),
      h("td", {}, h("span", {}, n.http_addr), h("br"), h("span", { class: "muted" }, `raft ${n.raft_addr}`)),
      h("td", {}, `${n.role}${n.voter ? " · voter" : " · learner"}`),
      h("td", { class: "num" }, n.applied ?? "—"),
      h("td", { class: "num" }, n.lag ?? "—"),
      h("td", { class: n.healthy ? "health-ok" : "health-bad" }, n.healthy ? "✓ healthy" : "✕ unhealthy"),
      this.clockCell(n, status),
      h(
        "td",
        {},
        n.voter && n.id !== status.leader ? [act("lead", "Make leader"), " "] : [],
        n.voter ? act("demote", "Demote") : act("promote", "Promote"),
        " ",
        act("remove", "Remove", "danger"),
      ),
    );
  }

  async change(id, what) {
    if (what === "remove" && !confirm(`Remove node ${id} from the cluster? It stops itself.`)) return;
    try {
      await this.rest.post(`/api/v1/cluster/nodes/${id}/${what}`);
      this.say(true, `✓ Node ${id}: ${what} done`);
    } catch (e) {
      this.say(false, `✕ Node ${id}: ${what} refused: ${e.message}`);
    }
    this.refresh();
  }

  async showJoin() {
    try {
      const r = await this.rest.get("/api/v1/cluster/join-token");
      setText($("#join-cmd"), r.join_command);
      show($("#join-box"), true);
    } catch (e) {
      this.say(false, `✕ No join command: ${e.message}`);
    }
  }

  // WebSocket clients per node, as each node reported it in the cluster
  // list (absent when the node did not answer).
  clients(nodes) {
    const items = nodes.map((n) =>
      h("li", { dataset: { node: n.id } }, `node ${n.id}: ${n.clients ?? "—"} clients`),
    );
    $("#m-clients").replaceChildren(...items);
  }
}
