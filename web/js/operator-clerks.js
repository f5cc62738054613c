// Clerk tokens: made with a label, listed (label and id: the cluster keeps
// only a hash, never the token), revoked after a confirmation. A new token
// is shown once, right here, with a copy button: the node cannot show it
// again, so the box stays until the operator says it is copied.

import { $, h, setText, show } from "./dom.js";
import { ask } from "./operator-ask.js";

export class Clerks {
  constructor({ rest, say }) {
    this.rest = rest;
    this.say = say;
    this.clerks = [];
  }

  start() {
    $("#op-clerk-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.create();
    });
    $("#op-clerk-copy").addEventListener("click", () => this.copy());
    $("#op-clerk-hide").addEventListener("click", () => this.hideToken());
    this.load();
  }

  async load(minIndex) {
    try {
      const r = await this.rest.get("/api/v1/clerks", { minIndex });
      this.clerks = r.clerks;
      setText($("#op-clerk-note"), r.clerks.length ? "" : "No clerk tokens yet: only the operator token works.");
    } catch (e) {
      setText($("#op-clerk-note"), `✕ Could not list the clerk tokens: ${e.message}`);
    }
    this.render();
  }

  render() {
    const shown = $("#op-clerk-new").dataset.clerk;
    $("#op-clerk-rows").replaceChildren(
      ...this.clerks.map((c) =>
        h(
          "tr",
          { class: c.id === shown ? "current" : null, dataset: { clerk: c.id } },
          h("td", {}, c.label),
          h("td", {}, h("code", {}, c.id)),
          h("td", {}, h("button", { id: `op-clerk-revoke-${c.id}`, class: "btn small danger", type: "button", onclick: () => this.revoke(c) }, "Revoke…")),
        ),
      ),
    );
  }

  async create() {
    const field = $("#op-clerk-label");
    const label = field.value.trim();
    if (!label || label.length > 100) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
      return this.say(false, "✕ Give the token a label of 1 to 100 characters (who or where, e.g. “rostrum left”).");
    }
    field.removeAttribute("aria-invalid");
    const btn = $("#op-clerk-create");
    btn.disabled = true;
    try {
      const r = await this.rest.post("/api/v1/clerks", { label });
      field.value = "";
      const box = $("#op-clerk-new");
      box.dataset.clerk = r.id;
      setText($("#op-clerk-new-label"), `“${r.label}” (id ${r.id})`);
      setText($("#op-clerk-token"), r.token);
      show(box, true);
      $("#op-clerk-copy").focus();
      this.say(true, `✓ Clerk token “${r.label}” created: copy it now, it is shown only once (index ${r.index})`);
      await this.load(r.index);
    } catch (e) {
      this.say(false, `✕ Creating a clerk token refused: ${e.message}`);
    } finally {
      btn.disabled = false;
    }
  }

  // The clipboard API needs https or localhost; a venue's LAN address is
  // neither, so the token is then selected for Ctrl+C instead.
  async copy() {
    const el = $("#op-clerk-token");
    try {
      await navigator.clipboard.writeText(el.textContent);
      return this.say(true, "✓ Token copied: paste it into the clerk console's sign-in");
    } catch {
      const range = document.createRange();
      range.selectNodeContents(el);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      let copied = false;
      try {
        copied = document.execCommand("copy");
      } catch {
        copied = false;
      }
      if (copied) this.say(true, "✓ Token copied: paste it into the clerk console's sign-in");
      else this.say(false, "✕ This browser would not copy it here: the token is selected, press Ctrl+C (⌘C on a Mac)");
    }
  }

  hideToken() {
    const box = $("#op-clerk-new");
    setText($("#op-clerk-token"), "");
    delete box.dataset.clerk;
    show(box, false);
    this.render();
  }

  async revoke(c) {
    const r = await ask({
      title: `Revoke the clerk token “${c.label}”?`,
      text: `Token ${c.id} stops working on every node: a clerk using it can no longer act or follow the sale as staff. This cannot be undone (make a new token instead).`,
      yes: "Revoke token",
      run: () => this.rest.post(`/api/v1/clerks/${encodeURIComponent(c.id)}/revoke`),
      onError: (e) => this.say(false, `✕ Revoking “${c.label}” refused: ${e.message}`),
    });
    if (!r) return;
    if ($("#op-clerk-new").dataset.clerk === c.id) this.hideToken();
    this.say(true, `✓ Clerk token “${c.label}” revoked (index ${r.index})`);
    await this.load(r.index);
  }
}
