// The assistant on the bidder page: the auctioneer's introduction of the
// lot that opened (a `lot_introduced` event: the same words on every
// phone and screen; shown, and spoken unless muted), and, for a bidder
// who was outbid, "Who's leading?": a friendly word about the paddle
// ahead (`GET /api/v1/sales/{sale}/lots/{lot}/rival`), from the public
// history only and never a name. Hidden when the sale turned it off.

import { $, setText, show } from "./dom.js";

export class ArenaAssistant {
  constructor(mine, voice) {
    this.mine = mine; // Rest with the bidder's token
    this.voice = voice;
    this.intros = new Map(); // lot → text
    this.rival = null; // { lot, leader, text }
    $("#rival-ask")?.addEventListener("click", () => this.ask());
    this.current = null;
  }

  // A `lot_introduced` event; spoken only for the lot on show while it is
  // open (a replay after a reconnect does not talk over the room).
  onIntro(ev, lotOnShow) {
    this.intros.set(ev.lot, ev.text);
    if (lotOnShow && ev.lot === lotOnShow.lot && ["open", "fair_warning"].includes(lotOnShow.status)) this.voice.say(ev.text);
  }

  render(sale, lot, me, bidOnLot) {
    this.current = { sale, lot, me };
    const intro = this.intros.get(lot.lot);
    const box = $("#intro");
    if (box) {
      setText($("#intro-text"), intro ?? "");
      show(box, Boolean(intro));
    }
    const outbid = Boolean(me) && bidOnLot && lot.leader != null && lot.leader !== me.paddle && !["sold", "passed", "withdrawn"].includes(lot.status);
    const allowed = sale.rival_profiles !== false;
    show($("#rival"), outbid && allowed);
    const text = $("#rival-text");
    if (this.rival && (this.rival.lot !== lot.lot || this.rival.leader !== lot.leader)) this.rival = null;
    setText(text, this.rival?.text ?? "");
  }

  async ask() {
    const cur = this.current;
    if (!cur?.me) return;
    const btn = $("#rival-ask");
    btn.disabled = true;
    try {
      const r = await this.mine.get(`/api/v1/sales/${cur.sale.sale}/lots/${cur.lot.lot}/rival`);
      this.rival = { lot: cur.lot.lot, leader: r.rival.paddle, text: r.rival.line };
    } catch (e) {
      this.rival = { lot: cur.lot.lot, leader: cur.lot.leader, text: `No profile: ${e.message}` };
    } finally {
      btn.disabled = false;
    }
    setText($("#rival-text"), this.rival.text);
  }
}
