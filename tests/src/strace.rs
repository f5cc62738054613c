//! Syscall traces of a running node with strace, to check durability
//! claims against what the process really asked the kernel to do.
//!
//! [`Strace::attach`] follows every thread of a node
//! (`strace -f -ttt -T -y -s 65536 -p PID`), optionally with fault
//! injection (`-e inject=fdatasync:delay_exit=N`); [`Strace::detach`]
//! stops it and parses the output into [`Call`]s with wall-clock times in
//! microseconds since the epoch, the same clock as [`now_us`], so a trace
//! can be ordered against what the test observed.
//!
//! strace is required, not optional: when it is missing or ptrace is not
//! permitted the tests that use it fail with strace's own message.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};

/// Wall-clock time now, in microseconds since the epoch (strace's `-ttt`).
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_micros() as u64
}

/// The strace binary, or a loud error saying how to get it.
pub fn require_strace() -> anyhow::Result<PathBuf> {
    for dir in ["/usr/bin", "/bin", "/usr/local/bin"] {
        let p = Path::new(dir).join("strace");
        if p.exists() {
            return Ok(p);
        }
    }
    bail!(
        "strace is not installed: the durability tests need it (./scripts/test installs it \
         with apt-get; or run `apt-get install -y strace`)"
    )
}

/// A running strace attached to one process.
pub struct Strace {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Strace {
    /// Attach to every thread of `pid`, writing the trace to `out`; `extra`
    /// are more strace options (`-e trace=...`, `-e inject=...`). Returns
    /// once strace reports that it is attached.
    pub async fn attach(pid: u32, out: &Path, extra: &[&str]) -> anyhow::Result<Strace> {
        let bin = require_strace()?;
        let err = out.with_extension("stderr");
        let err_file = std::fs::File::create(&err)?;
        let mut child = Command::new(bin)
            .args(["-f", "-ttt", "-T", "-y", "-s", "65536", "-o"])
            .arg(out)
            .args(extra)
            .arg("-p")
            .arg(pid.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err_file)
            .spawn()
            .context("starting strace")?;
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(&err).unwrap_or_default();
            if text.contains("attached") {
                return Ok(Strace {
                    child,
                    out: out.to_path_buf(),
                    err,
                });
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "strace could not attach to pid {pid} ({status}); ptrace must be permitted \
                     for the durability tests (not skipping): {text}"
                );
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                bail!("strace did not attach within 30 s: {text}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Detach (SIGINT) and parse the trace.
    pub fn detach(mut self) -> anyhow::Result<Trace> {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGINT);
        }
        let status = self.child.wait()?;
        let text = std::fs::read_to_string(&self.out)
            .with_context(|| format!("reading {}", self.out.display()))?;
        let calls = parse(&text);
        if calls.is_empty() {
            let err = std::fs::read_to_string(&self.err).unwrap_or_default();
            bail!("strace ({status}) recorded no system call: {err}");
        }
        Ok(Trace { calls })
    }
}

/// One system call of the trace.
#[derive(Debug, Clone)]
pub struct Call {
    /// Thread id.
    pub tid: u32,
    pub name: String,
    /// Entry time, µs since the epoch.
    pub start_us: u64,
    /// Time in the kernel (`-T`), not counting an injected delay.
    pub dur_us: u64,
    /// strace held the return back (`-e inject=...:delay_exit`).
    pub delayed: bool,
    /// The argument text as strace printed it.
    pub args: String,
    /// The return value text (`0`, `52`, `-1 EAGAIN ...`); empty when the
    /// trace ended before the call returned.
    pub ret: String,
    /// False when the trace ended while the call was in the kernel (its
    /// `<... resumed>` half never came): start and arguments only.
    pub finished: bool,
}

impl Call {
    /// When the caller got the result back: entry + kernel time + the
    /// delay strace injected at exit, if any.
    pub fn end_us(&self, injected_delay_us: u64) -> u64 {
        self.start_us + self.dur_us + if self.delayed { injected_delay_us } else { 0 }
    }

    /// The file behind the first argument (`-y` prints `fd</path>`).
    pub fn path(&self) -> Option<&str> {
        let open = self.args.find('<')?;
        let close = self.args[open..].find('>')? + open;
        (self.args[..open].bytes().all(|b| b.is_ascii_digit())).then(|| &self.args[open + 1..close])
    }

    /// The bytes of the first quoted string argument (a write's buffer).
    pub fn first_string(&self) -> Option<Vec<u8>> {
        let start = self.args.find('"')? + 1;
        let mut end = None;
        let mut escaped = false;
        for (i, b) in self.args[start..].bytes().enumerate() {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => {
                    end = Some(start + i);
                    break;
                }
                _ => {}
            }
        }
        Some(unescape(&self.args[start..end?]))
    }

    /// True when the call returned and succeeded (not negative).
    pub fn ok(&self) -> bool {
        self.finished && !self.ret.starts_with('-')
    }
}

/// A parsed trace.
pub struct Trace {
    pub calls: Vec<Call>,
}

/// Parse `strace -f -ttt -T` output, joining `<unfinished ...>` and
/// `<... resumed>` halves (a half that never resumed is kept, marked not
/// finished). Signal and exit lines are skipped.
pub fn parse(text: &str) -> Vec<Call> {
    let mut pending: HashMap<u32, (String, u64, String)> = HashMap::new();
    let mut calls = Vec::new();
    for line in text.lines() {
        // strace pads the thread id to the widest one seen: split on runs
        // of spaces, not on single ones.
        let Some((tid, rest)) = line.trim_start().split_once(' ') else {
            continue;
        };
        let Some((ts, rest)) = rest.trim_start().split_once(' ') else {
            continue;
        };
        let (Ok(tid), Some(ts)) = (tid.parse::<u32>(), parse_ts(ts)) else {
            continue;
        };
        if let Some(resumed) = rest.strip_prefix("<... ") {
            let Some((name, tail)) = resumed.split_once(" resumed>") else {
                continue;
            };
            if let Some((n, start, head)) = pending.remove(&tid) {
                if n == name {
                    calls.extend(finish(tid, n, start, &format!("{head}{tail}")));
                }
            }
        } else if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            if let Some((name, args)) = head.split_once('(') {
                pending.insert(tid, (name.to_string(), ts, args.to_string()));
            }
        } else if let Some((name, body)) = rest.split_once('(') {
            if !name.contains(' ') {
                calls.extend(finish(tid, name.to_string(), ts, body));
            }
        }
    }
    for (tid, (name, start_us, args)) in pending {
        calls.push(Call {
            tid,
            name,
            start_us,
            dur_us: 0,
            delayed: false,
            args,
            ret: String::new(),
            finished: false,
        });
    }
    calls.sort_by_key(|c| c.start_us);
    calls
}

fn parse_ts(ts: &str) -> Option<u64> {
    let (secs, micros) = ts.split_once('.')?;
    Some(secs.parse::<u64>().ok()? * 1_000_000 + micros.parse::<u64>().ok()?)
}

fn finish(tid: u32, name: String, start_us: u64, body: &str) -> Option<Call> {
    let pos = body.rfind(") = ")?;
    let (args, ret_part) = (&body[..pos], &body[pos + 4..]);
    let dur_us = ret_part
        .rfind('<')
        .and_then(|i| ret_part[i + 1..].strip_suffix('>'))
        .and_then(|d| {
            let (s, f) = d.split_once('.')?;
            Some(s.parse::<u64>().ok()? * 1_000_000 + f.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    Some(Call {
        tid,
        name,
        start_us,
        dur_us,
        delayed: ret_part.contains("(DELAYED)"),
        args: args.to_string(),
        ret: ret_part.split(' ').next().unwrap_or("").to_string(),
        finished: true,
    })
}

/// Undo strace's string escaping (`\n`, `\"`, `\\`, octal `\NNN`, ...).
pub fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 == b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'f' => out.push(0x0c),
            b'r' => out.push(b'\r'),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                let mut digits = 1;
                while digits < 3 && i < b.len() && (b'0'..=b'7').contains(&b[i]) {
                    v = v * 8 + u32::from(b[i] - b'0');
                    i += 1;
                    digits += 1;
                }
                out.push(v as u8);
            }
            other => out.push(other),
        }
    }
    out
}

/// Does `hay` contain `needle`?
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_complete_split_and_delayed_calls() {
        let text = r#"19902 1795322657.182787 pwrite64(11</tmp/s1/raft/sled/db>, "=\213\305\2\n,\0\4\0\10\0\fMARK\"x\\", 52, 1302) = 52 <0.000026>
23288 1795322745.622629 fdatasync(13</tmp/v2/raft/sled/db>) = 0 (DELAYED) <0.003452>
23293 1795322746.835945 pwrite64(12</tmp/v2/raft/sled/db>, "\302\v8A", 24, 3940 <unfinished ...>
23291 1795322746.836049 fdatasync(13</tmp/v2/raft/sled/db> <unfinished ...>
23293 1795322746.836080 <... pwrite64 resumed>) = 24 <0.000064>
23291 1795322746.836136 <... fdatasync resumed>) = 0 <0.000070>
23288 1795322747.000000 --- SIGINT {si_signo=SIGINT} ---
"#;
        let calls = parse(text);
        assert_eq!(calls.len(), 4);
        let w = &calls[0];
        assert_eq!(w.name, "pwrite64");
        assert_eq!(w.path(), Some("/tmp/s1/raft/sled/db"));
        assert_eq!(
            w.first_string().unwrap(),
            b"=\x8b\xc5\x02\n,\x00\x04\x00\x08\x00\x0cMARK\"x\\".to_vec()
        );
        assert_eq!(w.start_us, 1_795_322_657_182_787);
        assert_eq!(w.dur_us, 26);
        let f = &calls[1];
        assert!(f.delayed && f.ok());
        assert_eq!(f.end_us(400_000), 1_795_322_745_622_629 + 3452 + 400_000);
        let split = &calls[2];
        assert_eq!(
            (split.name.as_str(), split.ret.as_str()),
            ("pwrite64", "24")
        );
        assert_eq!(split.first_string().unwrap(), b"\xc2\x0b8A".to_vec());
        assert_eq!(calls[3].name, "fdatasync");
        assert_eq!(calls[3].start_us, 1_795_322_746_836_049);
        let padded =
            parse("9910  1795325118.350917 fdatasync(13</x/raft/sled/db>) = 0 <0.000201>\n");
        assert_eq!((padded.len(), padded[0].tid), (1, 9910));
        let cut = parse(
            "7 1795322746.000001 writev(14<socket:[1]>, [{iov_base=\"x\"}], 1 <unfinished ...>\n",
        );
        assert_eq!(cut.len(), 1);
        assert!(!cut[0].finished && !cut[0].ok());
        assert_eq!(cut[0].path(), Some("socket:[1]"));
    }

    #[test]
    fn octal_escapes_stop_at_three_digits() {
        assert_eq!(unescape(r"\1234\0"), vec![0o123, b'4', 0]);
    }
}
