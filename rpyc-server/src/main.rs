//! The `rpyc-server` binary: serves a built-in service to any RPyC 6 client.
//!
//! ```text
//! rpyc-server --service test --host 127.0.0.1 --port 18861
//! ```
//!
//! Prints `listening on HOST:PORT` once bound, serves until SIGINT/SIGTERM, then shuts down
//! gracefully and exits 0.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use rpyc_server::server::{DEFAULT_GRACE, DEFAULT_MAX_CONNECTIONS};
use rpyc_server::services::{CalculatorService, TestService};
use rpyc_server::Server;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ServiceName {
    /// `CALCULATOR`: add, multiply, get_history.
    Calc,
    /// `TEST`: the interop contract (echo, errors, callbacks, counters, maps, …).
    Test,
}

/// How log lines look (`--log-format`).
#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    /// One line per event: time, level, target, message, fields.
    Text,
    /// Several lines per event, spans included: for reading by eye.
    Pretty,
    /// One JSON object per line (`timestamp`, `level`, `fields`, `target`, `spans`): for log
    /// collectors.
    Json,
}

/// What `rpyc-server --help` opens with: what the binary does, before its options.
const ABOUT: &str = "Serve a built-in RPyC service (calc or test) to any RPyC 6 client, Python's \
                     `rpyc` included, over TCP, a Unix socket or TLS.";

/// The long form (`--help`): the short one plus how to use it.
const LONG_ABOUT: &str = "Serve a built-in RPyC service (calc or test) to any RPyC 6 client, \
Python's `rpyc` included, over TCP, a Unix socket or TLS.

Prints `listening on HOST:PORT` once bound (`--port 0` picks a free port), then serves until \
SIGINT/SIGTERM and shuts down gracefully. From Python:

    conn = rpyc.connect(\"127.0.0.1\", 18861)
    conn.root.add(2, 3)";

/// The command line of `rpyc-server`.
#[derive(Debug, Parser)]
#[command(name = "rpyc-server", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    /// The service to serve.
    #[arg(long, value_enum, default_value = "calc")]
    service: ServiceName,
    /// Address to bind (IPv4 or IPv6).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// TCP port (0 picks a free one).
    #[arg(long, default_value_t = 18861)]
    port: u16,
    /// Listen on this Unix socket instead of TCP.
    #[arg(long, conflicts_with_all = ["host", "port"])]
    unix: Option<std::path::PathBuf>,
    /// Most simultaneous connections. When all are taken, a newcomer evicts the oldest
    /// connection that never sent a frame, else waits for one to close.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Most simultaneous connections from one IP address (default: no limit; all Unix-socket
    /// peers count as one address).
    #[arg(long, value_name = "N")]
    max_connections_per_peer: Option<usize>,
    /// Close a connection that has had nothing going on for this many seconds (default: never;
    /// RPyC clients may stay idle for hours).
    #[arg(long, value_name = "SECONDS")]
    idle_timeout: Option<f64>,
    /// Seconds to let in-flight calls finish at shutdown.
    #[arg(long, default_value_t = DEFAULT_GRACE.as_secs_f64())]
    grace: f64,
    /// Serve a single connection, then exit.
    #[arg(long)]
    one_shot: bool,
    /// Serve one connection over stdin/stdout, for the parent that started this process (as
    /// Python's `rpyc.connect_subproc` and `rpyc::connect_subprocess` do), then exit. Stdout
    /// carries only the RPyC stream; messages and logs go to stderr.
    #[arg(long, conflicts_with_all = ["host", "port", "unix", "one_shot", "tls_cert", "register"])]
    stdio: bool,
    /// Serve over TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Require client certificates signed by this CA (PEM; one or more certificates), as
    /// RPyC's `SSLAuthenticator(..., ca_certs=CA)`: clients without one are refused during the
    /// handshake. Needs --tls-cert and --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_ca: Option<std::path::PathBuf>,
    /// Publish this server for discovery while serving: RPyC's registry (`udp://HOST:PORT`,
    /// `tcp://HOST:PORT`) or etcd (`etcd://HOST:PORT[,HOST:PORT…][?ttl=SECONDS]`, in builds
    /// with `--features etcd`). At shutdown it leaves discovery before it stops accepting.
    #[arg(long, value_name = "URL")]
    register: Option<String>,
    /// Log filter (e.g. `info`, `rpyc_netref=debug`; `rpyc=debug` adds a span per request
    /// and per call); logs go to stderr.
    #[arg(long, value_name = "LEVEL", default_value = "warn")]
    log: String,
    /// How log lines look.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Serve Prometheus metrics at http://ADDR/metrics and the status page at
    /// http://ADDR/status (ADDR: `127.0.0.1:9100`, say).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<String>,
    /// Show the live view of the server whose --metrics endpoint is ADDR (its
    /// /status.json), redrawn every second until interrupted.
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["stdio", "unix", "metrics", "register"])]
    status: Option<String>,
    /// With --status: print the view once and exit (for scripts).
    #[arg(long, requires = "status")]
    once: bool,
    #[command(flatten)]
    liveness: Liveness,
}

/// Liveness options: TCP keepalive and the ping deadline (with `--idle-timeout`, what frees
/// the slot of a peer that is gone).
#[derive(Debug, clap::Args)]
struct Liveness {
    /// Turn TCP keepalive off (on by default: a peer that vanished without closing is
    /// dropped by the kernel after --keepalive-idle + --keepalive-interval × --keepalive-probes).
    #[arg(long)]
    no_keepalive: bool,
    /// TCP keepalive: seconds of silence before the first probe.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    keepalive_idle: f64,
    /// TCP keepalive: seconds between unanswered probes.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    keepalive_interval: f64,
    /// TCP keepalive: unanswered probes before the connection is dropped.
    #[arg(long, value_name = "N", default_value_t = 6)]
    keepalive_probes: u32,
    /// Ping a client that has sent nothing for this many seconds (default: never). An idle
    /// Python client answers only if it serves in the background (`BgServingThread`).
    #[arg(long, value_name = "SECONDS")]
    ping_interval: Option<f64>,
    /// Close a connection whose client sends nothing back within this many seconds of a ping.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 30.0,
        requires = "ping_interval"
    )]
    ping_timeout: f64,
}

/// Seconds from the command line as a duration (at least a millisecond).
fn seconds(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.001, 1e9))
}

/// The connections' configuration: the defaults, with the command line's deadlines.
fn connection_config(cli: &Cli) -> rpyc_core::Config {
    let mut config = rpyc_core::Config::default();
    config.idle_timeout = cli.idle_timeout.map(seconds);
    let l = &cli.liveness;
    config.keepalive = (!l.no_keepalive).then(|| rpyc_core::Keepalive {
        idle: seconds(l.keepalive_idle),
        interval: seconds(l.keepalive_interval),
        retries: l.keepalive_probes.max(1),
    });
    config.ping_interval = l.ping_interval.map(seconds);
    config.ping_timeout = seconds(l.ping_timeout);
    config
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log))
        // A span is logged once, when it closes (`rpyc=debug`: one line per request and call,
        // with its outcome and duration).
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Pretty => logs.pretty().init(),
        LogFormat::Json => logs.json().init(),
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rpyc-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = rpyc_server::cli::exit_code("rpyc-server", rt.block_on(run(cli)));
    // The server has shut down gracefully (in-flight calls had the grace period); do not wait
    // for a synchronous method that still blocks a thread (`block(30)`, say).
    rt.shutdown_background();
    code
}

/// Caps glibc's malloc arenas at two per core, unless `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES`
/// says otherwise. glibc gives a thread that allocates under contention an arena of its own,
/// up to eight per core, and seldom returns their free pages to the system; a server whose
/// synchronous methods and large-frame decodes run on many threads then keeps growing its RSS
/// long after its working set stopped growing. Measured with `rpyc-bench --soak` (60 s, 100
/// clients, 2 cores): the median RSS of the last third over the first grew 19% with glibc's
/// default and 3% with this cap, at the same throughput.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some()
        || std::env::var_os("GLIBC_TUNABLES").is_some()
    {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let arenas = libc::c_int::try_from(2 * cores).unwrap_or(libc::c_int::MAX);
    // SAFETY: `mallopt` only sets a parameter of the allocator (it takes the allocator's own
    // lock); it is called first thing in `main`, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

/// Other allocators and C libraries manage their own arenas: nothing to cap.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

/// `--status ADDR`: reads the server's status document and shows it, once or redrawn every
/// second (the screen cleared first when stdout is a terminal).
async fn live_view(addr: &str, once: bool) -> std::io::Result<()> {
    use std::io::{IsTerminal, Write};
    let terminal = std::io::stdout().is_terminal();
    loop {
        let json = rpyc_server::status::http_get(addr, "/status.json").await?;
        let doc: rpyc_server::status::StatusDocument = serde_json::from_str(&json)
            .map_err(|e| std::io::Error::other(format!("{addr}/status.json: {e}")))?;
        let mut out = std::io::stdout().lock();
        if terminal && !once {
            write!(out, "\x1b[H\x1b[2J")?;
        }
        write!(out, "{}", doc.render())?;
        out.flush()?;
        if once {
            return Ok(());
        }
        drop(out);
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        if !terminal {
            println!();
        }
    }
}

async fn run(cli: Cli) -> std::io::Result<()> {
    if let Some(addr) = &cli.status {
        return live_view(addr, cli.once).await;
    }
    if cli.stdio {
        return serve_stdio(&cli).await;
    }
    let server = match &cli.unix {
        #[cfg(unix)]
        Some(path) => Server::bind_unix(path).await?,
        #[cfg(not(unix))]
        Some(_) => return Err(std::io::Error::other("unix sockets are not supported here")),
        None => {
            let host = rpyc_server::cli::unbracket(&cli.host);
            Server::bind((host, cli.port)).await?
        }
    };
    let server = match (&cli.tls_cert, &cli.tls_key, &cli.tls_ca) {
        (Some(cert), Some(key), None) => {
            server.tls(rpyc_server::tls::acceptor_from_files(cert, key)?)
        }
        (Some(cert), Some(key), Some(ca)) => {
            server.tls(rpyc_server::tls::mutual_acceptor_from_files(cert, key, ca)?)
        }
        _ => server,
    };
    let server = match &cli.register {
        Some(url) => server.register_with(rpyc_server::discovery::from_url(url).await?),
        None => server,
    };
    let config = connection_config(&cli);
    let server = server
        .config(config)
        .max_connections(cli.max_connections)
        .max_connections_per_peer(cli.max_connections_per_peer)
        .one_shot(cli.one_shot)
        .grace_period(Duration::from_secs_f64(cli.grace.max(0.0)));
    let shown = match (server.local_addr(), server.socket_path()) {
        (Some(addr), _) => format!("{}:{}", addr.ip(), addr.port()),
        (None, Some(p)) => p.display().to_string(),
        (None, None) => String::new(),
    };
    if let Some(addr) = &cli.metrics {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let recorder = rpyc_server::metrics::PrometheusRecorder::install()
            .map_err(|_| std::io::Error::other("a metrics recorder is already installed"))?;
        eprintln!(
            "rpyc-server: metrics on http://{}/metrics, status on /status",
            listener.local_addr()?
        );
        tokio::spawn(rpyc_server::status::serve_http(
            listener,
            recorder,
            server.monitor(),
            Default::default(),
        ));
    }
    rpyc_server::cli::announce_and_stop_on_signal(&shown, server.shutdown_handle())?;
    match cli.service {
        ServiceName::Calc => server.serve(CalculatorService::new).await,
        ServiceName::Test => {
            let counter = server.connection_counter();
            server
                .serve(move || TestService::new(counter.clone()))
                .await
        }
    }
}

/// `--stdio`: one connection over this process's stdin/stdout, until the peer closes it.
async fn serve_stdio(cli: &Cli) -> std::io::Result<()> {
    let config = connection_config(cli);
    // A pipe to our parent is local: no compression, as on loopback.
    let config = rpyc_netref::transport::local_peer_config(config, true);
    let service: std::sync::Arc<dyn rpyc_netref::Service> = match cli.service {
        ServiceName::Calc => std::sync::Arc::new(CalculatorService::new()),
        ServiceName::Test => std::sync::Arc::new(TestService::new(Default::default())),
    };
    eprintln!("rpyc-server: serving one connection on stdin/stdout");
    let conn = rpyc_netref::Connection::from_parts(
        tokio::io::stdin(),
        tokio::io::stdout(),
        service,
        config,
    );
    conn.serve_all().await;
    Ok(())
}
