// Spoken announcements ("New lot", "Fair warning", "Sold to paddle 42")
// through the browser's own speech synthesis, for bidders who look away
// from the phone. The mute switch is remembered; speech is never needed to
// follow the sale (everything spoken is also shown and in aria-live text).

import { store } from "./rest.js";

export class Announcer {
  // button: the mute switch (aria-pressed = muted).
  constructor(button, live) {
    this.button = button;
    this.live = live;
    this.muted = store.get("muted") ?? false;
    this.render();
    button?.addEventListener("click", () => {
      this.muted = !this.muted;
      store.set("muted", this.muted);
      if (this.muted) this.cancel();
      this.render();
    });
  }

  render() {
    if (!this.button) return;
    this.button.setAttribute("aria-pressed", String(this.muted));
    this.button.textContent = this.muted ? "♪ Sound off" : "♪ Sound on";
    this.button.title = this.muted ? "Announcements are muted" : "Announcements are spoken";
  }

  // Say it (unless muted) and put it in the polite live region.
  say(text) {
    if (this.live) {
      this.live.textContent = "";
      // A new node each time makes screen readers read a repeat again.
      requestAnimationFrame(() => (this.live.textContent = text));
    }
    if (this.muted || !("speechSynthesis" in window)) return;
    try {
      const u = new SpeechSynthesisUtterance(text);
      u.rate = 1.05;
      speechSynthesis.speak(u);
    } catch {
      // No voice on this device: the text is on screen anyway.
    }
  }

  cancel() {
    try {
      speechSynthesis.cancel();
    } catch {
      // Nothing to stop.
    }
  }
}
