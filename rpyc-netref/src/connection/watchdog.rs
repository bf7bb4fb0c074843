//! The reader's watchdog: deadlines on what the peer sends.
//!
//! * **Frame progress.** Once a frame has begun to arrive, at least
//!   `Config::frame_progress_bytes` of it (or all the rest) must arrive within each
//!   `Config::frame_progress_timeout`, else the connection closes: a peer cannot hold a
//!   connection slot, and the memory of a half frame, by trickling bytes. The clock stops
//!   while the reader itself has stopped reading (output backpressure), so it never cuts a
//!   peer that we made wait.
//! * **Idle** (off by default, `Config::idle_timeout`): a connection with nothing going on —
//!   no frame arriving, no request of the peer running, no call of ours awaiting a reply,
//!   nothing owed — for that long is closed.
//! * **Ping** (off by default, `Config::ping_interval`): when the peer has sent no byte for
//!   that long, the reader pings it (a PING no caller waits for, so it is not activity for the
//!   idle deadline); if still no byte arrives within `Config::ping_timeout`, the connection is
//!   closed — the peer is frozen, or the path to it is (a half-open connection).
//!
//! The watchdog looks at the stream on a tick of the shortest of the periods, and only while
//! there is something to watch: a frame in progress (or, with the idle or ping deadline,
//! always). A
//! connection whose frames arrive whole holds no timer at all — a registered timer costs every
//! park of the runtime's worker (measured: ~10% of scenario (3)'s rate). [`Tick`] arms itself
//! when bytes arrive that do not complete a frame; [`CountingRead`], below the frame decoder,
//! counts them.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rpyc_core::Config;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::time::{Instant, Sleep};

/// A byte stream that counts what it reads.
pub(super) struct CountingRead<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R> CountingRead<R> {
    /// Counts the bytes read from `inner`.
    pub(super) fn new(inner: R) -> Self {
        CountingRead {
            inner,
            read: Arc::default(),
        }
    }

    /// Bytes read so far.
    pub(super) fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// The count, shared (for [`Tick`]).
    pub(super) fn counter(&self) -> Arc<AtomicU64> {
        self.read.clone()
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for CountingRead<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = (buf.filled().len() - before) as u64;
        if n > 0 {
            self.read.fetch_add(n, Ordering::Relaxed);
        }
        r
    }
}

/// The watchdog's timer, armed only while there is something to watch.
pub(super) struct TickTimer {
    period: Option<Duration>,
    always: bool,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl TickTimer {
    /// A timer of `watchdog`'s period; always armed if it watches idleness.
    pub(super) fn new(watchdog: &Watchdog) -> Self {
        TickTimer {
            period: watchdog.period(),
            always: watchdog.idle.is_some() || watchdog.ping.is_some(),
            sleep: None,
        }
    }

    /// The reader starts waiting for the next frame: `in_progress` if one has begun. Nothing
    /// to watch drops the timer (a registered timer costs the runtime at every park).
    pub(super) fn waiting(&mut self, in_progress: bool) {
        if !in_progress && !self.always {
            self.sleep = None;
        }
    }

    /// Whether the timer has a period at all.
    pub(super) fn enabled(&self) -> bool {
        self.period.is_some()
    }

    /// The next tick is one period from now.
    pub(super) fn rearm(&mut self) {
        if let Some(period) = self.period {
            self.sleep = Some(Box::pin(tokio::time::sleep(period)));
        }
    }

    /// Fires at the next tick. Unarmed, it arms itself once bytes arrive (`read` moved past
    /// `read_then`) or when it must always run; until then it holds no timer (bytes arriving
    /// wake the reader anyway, and with it this future).
    pub(super) fn tick<'a>(&'a mut self, read: &'a AtomicU64, read_then: u64) -> Tick<'a> {
        Tick {
            timer: self,
            read,
            read_then,
        }
    }
}

/// The future of [`TickTimer::tick`].
pub(super) struct Tick<'a> {
    timer: &'a mut TickTimer,
    read: &'a AtomicU64,
    read_then: u64,
}

impl Future for Tick<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let arrived = self.read.load(Ordering::Relaxed) != self.read_then;
        let timer = &mut *self.timer;
        if timer.sleep.is_none() {
            if !(arrived || timer.always) {
                return Poll::Pending;
            }
            timer.rearm();
        }
        match &mut timer.sleep {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }
}

/// What the connection is doing when the watchdog looks.
pub(super) struct Seen {
    /// Bytes read from the stream so far.
    pub(super) read: u64,
    /// Bytes still lacking from the frame in progress, if one has begun
    /// ([`rpyc_core::frame::FrameCodec::lacking`]).
    pub(super) lacking: Option<usize>,
    /// Whether requests are running, calls of ours wait, or output is owed.
    pub(super) busy: bool,
}

/// The deadlines of one connection's reader.
pub(super) struct Watchdog {
    progress: Option<(Duration, usize)>,
    idle: Option<Duration>,
    /// The ping interval and deadline.
    ping: Option<(Duration, Duration)>,
    /// Bytes read at the last tick that saw some arrive, and when.
    heard: (u64, Instant),
    /// When our unanswered ping went out, if one did.
    ping_sent: Option<Instant>,
    /// The frame in progress at the last tick: bytes read then, and bytes it still lacked.
    window: Option<(u64, usize)>,
    /// The last moment something was going on.
    last_busy: Instant,
}

impl Watchdog {
    /// The deadlines `config` asks for.
    pub(super) fn new(config: &Config) -> Self {
        Watchdog {
            progress: config
                .frame_progress_timeout
                .map(|t| (t, config.frame_progress_bytes.max(1))),
            idle: config.idle_timeout,
            ping: config.ping_interval.map(|i| (i, config.ping_timeout)),
            heard: (0, Instant::now()),
            ping_sent: None,
            window: None,
            last_busy: Instant::now(),
        }
    }

    /// How often to look, if at all.
    pub(super) fn period(&self) -> Option<Duration> {
        let ping = self.ping.map(|(interval, timeout)| interval.min(timeout));
        [self.progress.map(|p| p.0), self.idle, ping]
            .into_iter()
            .flatten()
            .min()
            .map(|p| p.max(Duration::from_millis(1)))
    }

    /// The reader did not read for a while (its own backpressure) or a frame just completed:
    /// the frame clock starts again.
    pub(super) fn restart(&mut self) {
        self.window = None;
        self.last_busy = Instant::now();
    }

    /// Looks at the connection at a tick: `Ok(true)` asks for a ping to be sent now,
    /// `Err(reason)` closes the connection.
    pub(super) fn tick(&mut self, seen: Seen) -> Result<bool, String> {
        let now = Instant::now();
        let mut ping_now = false;
        if let Some((interval, timeout)) = self.ping {
            if seen.read != self.heard.0 {
                self.heard = (seen.read, now);
                self.ping_sent = None;
            }
            match self.ping_sent {
                Some(sent) if now.duration_since(sent) >= timeout => {
                    return Err(format!(
                        "no reply to a ping within {} s (the peer sent nothing for {} s)",
                        timeout.as_secs_f64(),
                        now.duration_since(self.heard.1).as_secs_f64().round()
                    ));
                }
                None if now.duration_since(self.heard.1) >= interval => {
                    self.ping_sent = Some(now);
                    ping_now = true;
                }
                _ => {}
            }
        }
        if seen.lacking.is_some() || seen.busy {
            self.last_busy = now;
        }
        if let Some((period, min_bytes)) = self.progress {
            let window = seen.lacking.map(|lacking| (seen.read, lacking));
            if let (Some((read_then, lacked)), Some(_)) = (self.window, window) {
                let arrived = seen.read.saturating_sub(read_then);
                let needed = min_bytes.min(lacked) as u64;
                if arrived < needed {
                    return Err(format!(
                        "frame stalled: {arrived} bytes in {} s (at least {needed} needed)",
                        period.as_secs_f64()
                    ));
                }
            }
            self.window = window;
        }
        if let Some(idle) = self.idle {
            if now.duration_since(self.last_busy) >= idle {
                return Err(format!("idle for {} s", idle.as_secs_f64()));
            }
        }
        Ok(ping_now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn ping_goes_out_after_silence_and_no_answer_closes() {
        assert_eq!(
            Watchdog::new(&Config::default()).ping,
            None,
            "off by default"
        );
        let mut c = config(None, None);
        c.ping_interval = Some(Duration::from_secs(10));
        c.ping_timeout = Duration::from_secs(5);
        let mut w = Watchdog::new(&c);
        assert_eq!(w.period(), Some(Duration::from_secs(5)));
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(!w.tick(seen(0, None)).unwrap(), "not silent long enough");
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(w.tick(seen(0, None)).unwrap(), "10 s of silence: ping");
        // The answer arrives: no close, and no new ping until 10 s of silence again.
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(!w.tick(seen(40, None)).unwrap());
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(!w.tick(seen(40, None)).unwrap());
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(w.tick(seen(40, None)).unwrap(), "silent again: ping");
        tokio::time::advance(Duration::from_secs(5)).await;
        let err = w.tick(seen(40, None)).unwrap_err();
        assert!(err.contains("no reply to a ping within 5 s"), "{err}");
    }

    fn config(progress: Option<u64>, idle: Option<u64>) -> Config {
        let mut c = Config::default();
        c.frame_progress_timeout = progress.map(Duration::from_secs);
        c.frame_progress_bytes = 4096;
        c.idle_timeout = idle.map(Duration::from_secs);
        c
    }

    /// A frame in progress that lacks `n` bytes (`None`: no frame has begun).
    fn seen(read: u64, lacking: Option<usize>) -> Seen {
        Seen {
            read,
            lacking,
            busy: false,
        }
    }

    #[test]
    fn a_trickling_frame_is_cut_at_the_second_tick() {
        let mut w = Watchdog::new(&config(Some(10), None));
        assert_eq!(w.period(), Some(Duration::from_secs(10)));
        assert!(
            w.tick(seen(100, Some(1048567))).is_ok(),
            "the frame clock starts"
        );
        let err = w.tick(seen(110, Some(1048557))).unwrap_err();
        assert!(err.contains("frame stalled: 10 bytes"), "{err}");
    }

    #[test]
    fn a_frame_that_keeps_coming_or_needs_little_more_is_not_cut() {
        let mut w = Watchdog::new(&config(Some(10), None));
        w.tick(seen(100, Some(1048567))).unwrap();
        w.tick(seen(5090, Some(1043577))).unwrap();
        // 3 bytes lacking: the 3 that come are enough.
        w.tick(seen(9186, Some(3))).unwrap();
        assert!(
            w.tick(seen(9187, Some(2))).is_err(),
            "1 of the 3 lacking bytes arrived"
        );
        // No frame in progress: nothing to cut, ever.
        let mut w = Watchdog::new(&config(Some(10), None));
        for _ in 0..5 {
            w.tick(seen(0, None)).unwrap();
        }
    }

    #[test]
    fn backpressure_restarts_the_frame_clock() {
        let mut w = Watchdog::new(&config(Some(10), None));
        w.tick(seen(100, Some(1048567))).unwrap();
        w.restart();
        w.tick(seen(100, Some(1048567))).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn idle_is_off_by_default_and_cuts_only_a_connection_with_nothing_going_on() {
        assert_eq!(Watchdog::new(&Config::default()).idle, None);
        let mut w = Watchdog::new(&config(None, Some(30)));
        assert_eq!(w.period(), Some(Duration::from_secs(30)));
        tokio::time::advance(Duration::from_secs(31)).await;
        let busy = Seen {
            read: 0,
            lacking: None,
            busy: true,
        };
        assert!(!w.tick(busy).unwrap());
        tokio::time::advance(Duration::from_secs(20)).await;
        w.tick(seen(0, None)).unwrap();
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(w.tick(seen(0, None)).unwrap_err().contains("idle for 30 s"));
    }
}
