// The operator's hold on the room: pause and resume the selected sale
// (with the reason bidders and the venue screen are shown), and give one
// running timed lot more time. The state shown comes from the sale itself
// (`SaleView.paused`) and its events; after each action the node's answer
// is taken at once too, so the console is right even while its WebSocket
// is reconnecting.

import { $, h, setText, show, formatDuration } from "./dom.js";

const DAY_MS = 24 * 60 * 60 * 1000;

// "02:14:07": a stamp in this browser's local time, to the second.
export function clockTime(ms) {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

// "2 min 30 s", "1 h", "45 s": exact, for what the operator set (dom.js's
// spokenDuration rounds, which is right for announcements only).
export function exactDuration(ms) {
  const total = Math.round(ms / 1000);
  const parts = [[Math.floor(total / 3600), "h"], [Math.floor(total / 60) % 60, "min"], [total % 60, "s"]];
  return parts.filter(([n]) => n > 0).map(([n, unit]) => `${n} ${unit}`).join(" ") || "0 s";
}

export class Room {
  // clock: the Link's ServerClock (cluster time, never this laptop's);
  // changed(): re-render the sale after the model was patched here.
  constructor({ rest, feed, clock, say, changed }) {
    this.rest = rest;
    this.feed = feed;
    this.clock = clock;
    this.say = say;
    this.changed = changed;
    this.extending = null;
  }

  start() {
    $("#op-pause-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.pause();
    });
    $("#op-resume").addEventListener("click", () => this.resume());
    $("#op-selfreg").addEventListener("click", () => this.toggleSelfRegistration());
    $("#op-extend-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.extend();
    });
    $("#op-extend-cancel").addEventListener("click", () => $("#op-extend-dialog").close());
    $("#op-extend-dialog").addEventListener("close", () => (this.extending = null));
    setInterval(() => this.tick(), 1000);
  }

  // Events this module cares about, applied to the model before the page
  // re-renders. sale.js may apply them as well: setting the same values
  // twice is harmless, and the console does not depend on it.
  onEvent(e, model) {
    const ev = e.event;
    if (ev.type === "sale_paused" && model.sale) model.sale.paused = { reason: ev.reason, since_ms: ev.since_ms };
    if (ev.type === "sale_resumed" && model.sale) model.sale.paused = null;
    if (ev.type === "self_registration_set" && model.sale) model.sale.self_registration = ev.open;
    if (ev.type === "lot_extended_by") {
      const lot = model.lots.get(ev.lot);
      if (lot) lot.effective_end_ms = ev.effective_end_ms;
    }
  }

  render() {
    const sale = this.feed.model?.sale;
    const p = sale?.paused ?? null;
    show($("#op-pause-box"), !!sale && (!!p || sale.status !== "closed"));
    if (!sale) return;
    const state = $("#op-pause-state");
    state.dataset.state = p ? "paused" : "running";
    state.dataset.since = p ? p.since_ms : "";
    setText(state, p ? `Paused since ${clockTime(p.since_ms)}: ${p.reason}` : "Not paused: bids are taken as usual.");
    show($("#op-pause-form"), !p);
    show($("#op-resume"), !!p);
    const open = sale.self_registration !== false;
    const reg = $("#op-selfreg-state");
    reg.dataset.open = String(open);
    setText(reg, open
      ? "Bidders may register on their own (the desk approves them)."
      : "Desk only: bidders register at the desk; sign-ups from phones are refused.");
    setText($("#op-selfreg"), open ? "Close self-registration (desk only)" : "Open self-registration");
    this.tick();
  }

  // Desk only, or back: one command through the log, like a pause.
  async toggleSelfRegistration() {
    const sale = this.feed.model?.sale;
    if (!sale) return this.say(false, "✕ Select a sale first.");
    const open = sale.self_registration === false;
    const r = await this.send($("#op-selfreg"), "Registration change", () =>
      this.rest.post(`/api/v1/sales/${sale.sale}/self-registration`, { open }));
    if (!r) return;
    this.say(true, open
      ? `✓ Sale ${sale.sale}: bidders may register on their own again (index ${r.index})`
      : `✓ Sale ${sale.sale}: registration at the desk only; sign-ups from phones are refused (index ${r.index})`);
  }

  // Once a second: how long the pause has lasted, and the end of the lot
  // being extended (soft close may move it while the dialog is open).
  tick() {
    const now = this.clock.now();
    const p = this.feed.model?.sale?.paused;
    setText($("#op-pause-for"), p && now !== null ? `Paused for ${formatDuration(now - p.since_ms)}.` : "");
    if (this.extending !== null) setText($("#op-extend-end"), this.endText(this.feed.model?.lots.get(this.extending)));
  }

  async pause() {
    const sale = this.feed.model?.sale;
    if (!sale) return this.say(false, "✕ Select a sale first.");
    const field = $("#op-pause-reason");
    const reason = field.value.trim();
    if (!reason) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
      return this.say(false, "✕ Type why the sale is paused: bidders and the venue screen are shown it.");
    }
    field.removeAttribute("aria-invalid");
    const r = await this.send($("#op-pause"), "Pause", () => this.rest.post(`/api/v1/sales/${sale.sale}/pause`, { reason }));
    if (!r) return;
    field.value = "";
    this.say(true, `✓ Sale ${sale.sale} paused: every bid is refused and timed lots' clocks stand still until you resume (index ${r.index})`);
  }

  async resume() {
    const sale = this.feed.model?.sale;
    if (!sale) return this.say(false, "✕ Select a sale first.");
    const r = await this.send($("#op-resume"), "Resume", () => this.rest.post(`/api/v1/sales/${sale.sale}/resume`, {}));
    if (!r) return;
    const timed = sale.mode.type === "timed" ? "; each unfinished lot got back the time the pause took" : "";
    this.say(true, `✓ Sale ${sale.sale} resumed: bids are taken again${timed} (index ${r.index})`);
  }

  // One pause/resume request: the button is held while it is out, the
  // answer's sale is taken as it is, and a refusal is said in full. On
  // `pause_state` (someone else paused or resumed first) the sale is read
  // again so the console shows what really stands.
  async send(btn, what, call) {
    btn.disabled = true;
    try {
      const r = await call();
      this.take(r.sale);
      return r;
    } catch (e) {
      this.say(false, `✕ ${what} refused: ${e.message}`);
      if (e.code === "pause_state") this.reload();
      return null;
    } finally {
      btn.disabled = false;
    }
  }

  take(view) {
    const model = this.feed.model;
    if (!view || !model?.sale || model.id !== view.sale) return;
    model.sale.paused = view.paused ?? null;
    model.sale.self_registration = view.self_registration;
    this.changed();
  }

  async reload() {
    const model = this.feed.model;
    if (!model) return;
    try {
      const r = await this.rest.get(`/api/v1/sales/${model.id}`);
      this.take(r.sale);
    } catch {
      // The refusal is on screen already; the next event corrects the state.
    }
  }

  // "Extend…" on a running lot of a timed sale.
  extendButton(l, sale) {
    if (sale.mode.type !== "timed" || !["open", "fair_warning"].includes(l.status)) return null;
    return h("button", { id: `op-extend-${l.lot}`, class: "btn small", type: "button", onclick: () => this.openExtend(l.lot) }, "Extend…");
  }

  // Under a timed lot's status: when it ends, or what it has left while
  // the sale is paused (its end moves by the pause's length on resume).
  endNote(l, sale) {
    if (sale.mode.type !== "timed" || !["open", "fair_warning", "scheduled"].includes(l.status) || l.effective_end_ms == null) return null;
    return h("div", { class: "muted end-note", dataset: { end: l.effective_end_ms } }, this.endText(l));
  }

  endText(l) {
    if (!l || l.effective_end_ms == null) return "";
    const p = this.feed.model?.sale?.paused;
    if (p) return `Clock held (sale paused) with ${formatDuration(l.effective_end_ms - p.since_ms)} left`;
    return `Ends ${clockTime(l.effective_end_ms)}`;
  }

  openExtend(lotId) {
    const l = this.feed.model?.lots.get(lotId);
    const dlg = $("#op-extend-dialog");
    if (!l || dlg.open) return;
    this.extending = lotId;
    setText($("#op-extend-h"), `Extend lot ${l.position + 1}: ${l.title}`);
    setText($("#op-extend-msg"), "");
    this.tick();
    dlg.showModal();
    $("#op-extend-by").select();
  }

  async extend() {
    const lotId = this.extending;
    const l = this.feed.model?.lots.get(lotId);
    if (!l) return;
    const msg = $("#op-extend-msg");
    const text = $("#op-extend-by").value.trim();
    const by_ms = /^\d{1,9}$/.test(text) ? Number(text) * Number($("#op-extend-unit").value) : 0;
    if (by_ms < 1 || by_ms > DAY_MS) return setText(msg, "Type a whole number: at least 1 second, at most one day (1440 minutes).");
    const btn = $("#op-extend-go");
    btn.disabled = true;
    setText(msg, "Sending…");
    const name = `lot ${l.position + 1}`;
    try {
      const r = await this.rest.post(`/api/v1/lots/${lotId}/extend`, { by_ms });
      if (r.lot?.effective_end_ms != null) l.effective_end_ms = r.lot.effective_end_ms;
      $("#op-extend-dialog").close();
      this.say(true, `✓ ${name} extended by ${exactDuration(by_ms)}: it now ends ${clockTime(l.effective_end_ms)} (index ${r.index})`);
      this.changed();
    } catch (e) {
      setText(msg, `✕ Refused: ${e.message}`);
      this.say(false, `✕ Extending ${name} refused: ${e.message}`);
    } finally {
      btn.disabled = false;
    }
  }
}
