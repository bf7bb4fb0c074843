//! The floor: raw tokio ping-pong of 8-byte messages over TCP and Unix sockets, against an
//! echo server in its own process (`rpyc-bench floor-server`), on the same kind of runtime as
//! `rpyc-server` (tokio multi-thread). Nothing can go faster on this machine.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::stats::Latencies;
use crate::Res;

/// Messages in flight for the pipelined floor.
pub const WINDOW: usize = 64;
const MSG: usize = 8;

/// Runs the echo server: TCP on 127.0.0.1 (any port) and, if given, a Unix socket. Prints
/// `listening on 127.0.0.1:PORT`; serves until killed.
pub fn serve(unix: Option<PathBuf>) -> Res<()> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let unix = match unix {
            Some(p) => {
                let _ = std::fs::remove_file(&p);
                Some(tokio::net::UnixListener::bind(&p)?)
            }
            None => None,
        };
        println!("listening on {}", tcp.local_addr()?);
        use std::io::Write;
        std::io::stdout().flush()?;
        let tcp_loop = async {
            loop {
                let (s, _) = tcp.accept().await?;
                s.set_nodelay(true)?;
                tokio::spawn(echo(s));
            }
            #[allow(unreachable_code)]
            Ok::<(), std::io::Error>(())
        };
        let unix_loop = async {
            if let Some(l) = &unix {
                loop {
                    let (s, _) = l.accept().await?;
                    tokio::spawn(echo(s));
                }
            }
            std::future::pending::<()>().await;
            Ok::<(), std::io::Error>(())
        };
        tokio::try_join!(tcp_loop, unix_loop)?;
        Ok(())
    })
}

async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if s.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// One message in flight: per-round-trip latencies.
pub async fn one_in_flight<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    n: usize,
    budget: Duration,
) -> Res<Latencies> {
    let msg = [7u8; MSG];
    let mut back = [0u8; MSG];
    for _ in 0..200 {
        s.write_all(&msg).await?;
        s.read_exact(&mut back).await?;
    }
    let mut lat = Latencies::with_capacity(n);
    // One clock read per round trip: its end is the next one's start and the budget check.
    let start = Instant::now();
    let mut last = start;
    for _ in 0..n {
        s.write_all(&msg).await?;
        s.read_exact(&mut back).await?;
        let now = Instant::now();
        lat.push(now - last);
        last = now;
        if now - start > budget {
            break;
        }
    }
    lat.elapsed = last - start;
    Ok(lat)
}

/// `WINDOW` messages in flight, sent with one write per batch (`coalesced`) or one write per
/// message; returns messages per second.
pub async fn pipelined<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    coalesced: bool,
    max_batches: usize,
    budget: Duration,
) -> Res<(f64, u64)> {
    let batch = vec![7u8; MSG * WINDOW];
    let mut back = vec![0u8; MSG * WINDOW];
    for _ in 0..20 {
        batch_round_trip(s, &batch, &mut back, coalesced).await?;
    }
    let start = Instant::now();
    let mut batches = 0u64;
    while (batches as usize) < max_batches && start.elapsed() < budget {
        batch_round_trip(s, &batch, &mut back, coalesced).await?;
        batches += 1;
    }
    let msgs = batches * WINDOW as u64;
    Ok((msgs as f64 / start.elapsed().as_secs_f64(), msgs))
}

async fn batch_round_trip<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    batch: &[u8],
    back: &mut [u8],
    coalesced: bool,
) -> Res<()> {
    if coalesced {
        s.write_all(batch).await?;
    } else {
        for m in batch.chunks(MSG) {
            s.write_all(m).await?;
        }
    }
    s.read_exact(back).await?;
    Ok(())
}

/// `batches` rounds of `WINDOW` messages; returns (rate, messages, elapsed).
pub async fn pipelined_batches<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    coalesced: bool,
    batches: usize,
) -> Res<(f64, u64, Duration)> {
    let batch = vec![7u8; MSG * WINDOW];
    let mut back = vec![0u8; MSG * WINDOW];
    let start = Instant::now();
    for _ in 0..batches {
        batch_round_trip(s, &batch, &mut back, coalesced).await?;
    }
    let el = start.elapsed();
    let msgs = (batches * WINDOW) as u64;
    Ok((msgs as f64 / el.as_secs_f64(), msgs, el))
}

/// One raw echo of `data` (written and read back concurrently); returns the time it took.
pub async fn bulk_echo<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    data: &[u8],
    back: &mut [u8],
) -> Res<Duration> {
    let (mut r, mut w) = tokio::io::split(s);
    let t = Instant::now();
    let write = async {
        w.write_all(data).await?;
        Ok::<_, std::io::Error>(())
    };
    let read = async {
        r.read_exact(&mut back[..data.len()]).await?;
        Ok::<_, std::io::Error>(())
    };
    tokio::try_join!(write, read)?;
    Ok(t.elapsed())
}
