// Server time for countdowns. The phone's wall clock is never used for a
// deadline: it may be minutes off, or jump when the phone syncs. The base
// is performance.now() (monotonic since page load) plus an offset learned
// from ping/pong round trips; the round trip with the smallest delay of the
// recent ones wins, as its midpoint is the tightest estimate.
//
// A better estimate is not applied at once: the offset slews at most 10 %
// of elapsed time, so a countdown never visibly jumps (a big error, over
// 2 s, is corrected at once: better a jump than a wrong deadline).

const WINDOW = 8;

export class ServerClock {
  constructor() {
    this.samples = [];
    this.target = null;
    this.current = null;
    this.lastRead = 0;
  }

  // A ping message; the node echoes client_time in its pong.
  ping() {
    return { type: "ping", client_time: performance.now() };
  }

  // A rough first offset from a server time in any message, before pongs.
  seed(serverTimeMs) {
    if (this.target === null && Number.isFinite(serverTimeMs)) {
      this.target = serverTimeMs - performance.now();
      this.current = this.target;
      this.lastRead = performance.now();
    }
  }

  onPong(msg) {
    const t1 = performance.now();
    const t0 = Number(msg.client_time);
    const rtt = t1 - t0;
    if (!Number.isFinite(rtt) || rtt < 0) return;
    this.samples.push({ rtt, offset: msg.server_time_ms - (t0 + t1) / 2 });
    if (this.samples.length > WINDOW) this.samples.shift();
    const best = this.samples.reduce((a, b) => (b.rtt < a.rtt ? b : a));
    this.target = best.offset;
    if (this.current === null) {
      this.current = this.target;
      this.lastRead = t1;
    }
  }

  // Server time now (ms since the epoch), or null before any estimate.
  now() {
    if (this.current === null) return null;
    const p = performance.now();
    const diff = this.target - this.current;
    const step = Math.max(0, p - this.lastRead) * 0.1;
    this.lastRead = p;
    if (Math.abs(diff) > 2000 || Math.abs(diff) <= step) this.current = this.target;
    else this.current += Math.sign(diff) * step;
    return p + this.current;
  }

  // How sure we are (the best round trip), for diagnostics.
  bestRtt() {
    return this.samples.length ? Math.min(...this.samples.map((s) => s.rtt)) : null;
  }
}
