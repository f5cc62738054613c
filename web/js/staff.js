// Sign-in for the clerk and operator consoles: the token is pasted once
// (the operator's from bootstrap, a clerk's from the operator), checked
// with GET /api/v1/me, and kept in this browser.

import { $, setText, show } from "./dom.js";
import { Rest, store } from "./rest.js";

// roles: the roles this console accepts. Resolves with {token, me}.
export function signIn(roles) {
  return new Promise((resolve) => {
    const form = $("#login");
    const msg = $("#login-msg");
    const rest = new Rest(() => "", () => store.get("staff.token"));
    const check = async () => {
      try {
        const me = await rest.get("/api/v1/me");
        if (!roles.includes(me.role)) {
          setText(msg, `This token is a ${me.role} token; this console needs ${roles.join(" or ")}.`);
          return false;
        }
        show(form, false);
        show($("#app"), true);
        setText($("#who"), me.role === "clerk" ? `Clerk ${me.label || me.id || ""}`.trim() : "Operator");
        resolve({ token: store.get("staff.token"), me });
        return true;
      } catch (e) {
        setText(msg, e.status === 401 ? "That token is not known to the cluster." : `Could not check the token: ${e.message}`);
        return false;
      }
    };
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      store.set("staff.token", $("#token").value.trim());
      setText(msg, "Checking…");
      if (!(await check())) store.set("staff.token", null);
    });
    $("#logout")?.addEventListener("click", () => {
      store.set("staff.token", null);
      location.reload();
    });
    if (store.get("staff.token")) check();
    else show(form, true);
  });
}

// The action-result line every console uses: explicit success or the
// node's own error message, never a silent button.
export function report(el, ok, text) {
  el.className = `outcome ${ok ? "accepted" : "rejected"}`;
  el.dataset.state = ok ? "ok" : "error";
  setText(el, text);
}
