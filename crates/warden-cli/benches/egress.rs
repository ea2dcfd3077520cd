//! Egress proxy benchmarks, side by side in one run (see docs/benchmarks.md):
//! - CONNECT throughput for a 1 GiB upload: direct loopback vs through `warden proxy`;
//! - added setup latency: connect + CONNECT + one byte echoed, vs connect + echo;
//! - 5,000 concurrent open tunnels, then the proxy process's resident memory;
//! - with `--peers DIR` (where `scripts/compare-egress.sh` installed sandbox-runtime):
//!   the same upload from a Python client inside `warden exec --network proxy` and
//!   inside `srt`, and directly, so the two sandboxes' proxies compare.
//!
//! With `--pin`, the bench's own threads (client and sink server) run on CPU 0 and the
//! proxy on CPU 1: the proxy gets a core of its own, as it would on a machine with more
//! cores than the transfer's two ends keep busy.
//!
//! Run: `cargo bench -p warden-cli --bench egress [-- --peers ~/.cache/warden-peers] [--pin]`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use warden_testkit::cpu::cpu_seconds;

const WARDEN: &str = env!("CARGO_BIN_EXE_warden");
const GIB: u64 = 1 << 30;
const SECRET: &str = "bench-secret";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let peers = args
        .iter()
        .position(|a| a == "--peers")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let pin = args.iter().any(|a| a == "--pin");
    raise_fd_limit();
    if pin {
        // Before any thread starts, so the sink server's threads inherit it.
        pin_to_cpu(0).unwrap();
    }
    let server = sink_server();
    let home = tempfile::tempdir().unwrap();
    let (mut proxy, proxy_addr) = start_proxy(home.path(), pin);
    println!(
        "server {server}, warden proxy {proxy_addr} (pid {}){}",
        proxy.id(),
        if pin {
            "; client and server pinned to CPU 0, proxy to CPU 1"
        } else {
            ""
        }
    );

    // Throughput: best of 3 each, alternating.
    let mut direct = Vec::new();
    let mut proxied = Vec::new();
    let mut proxy_cpu = 0.0;
    let (mut ends_direct, mut ends_proxied) = (0.0, 0.0);
    let me = std::process::id();
    for _ in 0..3 {
        let before = cpu_seconds(me);
        direct.push(upload(server, None, GIB));
        ends_direct += cpu_seconds(me) - before;
        let (before, before_ends) = (cpu_seconds(proxy.id()), cpu_seconds(me));
        proxied.push(upload(proxy_addr, Some(server), GIB));
        proxy_cpu += cpu_seconds(proxy.id()) - before;
        ends_proxied += cpu_seconds(me) - before_ends;
    }
    let best = |v: &[f64]| v.iter().cloned().fold(0.0, f64::max);
    let (d, p) = (best(&direct), best(&proxied));
    println!(
        "1 GiB upload: direct {:.2} GB/s, through warden proxy {:.2} GB/s = {:.1}% of direct",
        d / 1e9,
        p / 1e9,
        100.0 * p / d
    );
    println!(
        "CPU time per GiB (user + system): client and server {:.2} s direct, {:.2} s proxied; \
         the proxy {:.2} s",
        ends_direct / 3.0,
        ends_proxied / 3.0,
        proxy_cpu / 3.0
    );

    // Setup latency: 2,000 rounds each, interleaved.
    let mut plain = Vec::new();
    let mut tunnel = Vec::new();
    for _ in 0..2000 {
        plain.push(echo_round(server, None));
        tunnel.push(echo_round(proxy_addr, Some(server)));
    }
    let (pm, tm) = (median(&mut plain), median(&mut tunnel));
    println!(
        "setup + 1-byte echo: direct median {:.3} ms, through the proxy {:.3} ms, added {:.3} ms (p99 {:.3} ms)",
        pm * 1e3,
        tm * 1e3,
        (tm - pm) * 1e3,
        percentile(&mut tunnel, 0.99) * 1e3
    );

    // Concurrent tunnels.
    let before = rss_kib(proxy.id());
    let started = Instant::now();
    let mut open = Vec::with_capacity(5000);
    for _ in 0..5000 {
        open.push(connect_tunnel(proxy_addr, server));
    }
    let opened = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    let during = rss_kib(proxy.id());
    // Every tunnel still works.
    for stream in open.iter_mut().step_by(50) {
        stream.write_all(b"E").unwrap();
        let mut b = [0u8; 1];
        stream.read_exact(&mut b).unwrap();
    }
    println!(
        "5000 concurrent tunnels opened in {:.2} s; proxy RSS {:.1} MB idle, {:.1} MB with all open (peak {:.1} MB)",
        opened.as_secs_f64(),
        before as f64 / 1024.0,
        during as f64 / 1024.0,
        hwm_kib(proxy.id()) as f64 / 1024.0
    );
    drop(open);

    match peers {
        // Everything the bench starts would share CPU 0 with the client.
        Some(_) if pin => println!("--peers is skipped with --pin"),
        Some(peers) => sandboxed_uploads(&peers, home.path(), server),
        None => {}
    }
    let _ = proxy.kill();
    let _ = proxy.wait();
}

fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit with a stack struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
}

/// A server on 127.0.0.1: each connection sends `E` to get `E` back (echo rounds and
/// tunnel checks), or `U` + 8-byte length + that many bytes, answered with `K`.
fn sink_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    let _ = stream.set_nodelay(true);
                    let mut kind = [0u8; 1];
                    while stream.read_exact(&mut kind).is_ok() {
                        if kind[0] == b'E' {
                            if stream.write_all(b"E").is_err() {
                                return;
                            }
                            continue;
                        }
                        let mut len = [0u8; 8];
                        if stream.read_exact(&mut len).is_err() {
                            return;
                        }
                        let mut left = u64::from_be_bytes(len);
                        let mut buf = vec![0u8; 1 << 20];
                        while left > 0 {
                            let n = stream.read(&mut buf).unwrap_or(0);
                            if n == 0 {
                                return;
                            }
                            left -= n as u64;
                        }
                        let _ = stream.write_all(b"K");
                    }
                })
                .unwrap();
        }
    });
    addr
}

/// Run the calling thread (and the threads and processes it starts later) on `cpu` only.
fn pin_to_cpu(cpu: usize) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_setaffinity reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn start_proxy(home: &std::path::Path, pin: bool) -> (Child, SocketAddr) {
    let mut command = Command::new(WARDEN);
    if pin {
        use std::os::unix::process::CommandExt;
        // SAFETY: sched_setaffinity is async-signal-safe and allocates nothing.
        unsafe { command.pre_exec(|| pin_to_cpu(1)) };
    }
    let (child, line) = warden_testkit::start_with_first_line(
        command
            .env("WARDEN_HOME", home)
            .args([
                "-c",
                "network.allow=[\"localhost\", \"127.0.0.1\"]",
                "-c",
                "network.allow_private=[\"127.0.0.1\"]",
                "proxy",
                "--credential",
                SECRET,
            ])
            .stdin(Stdio::null())
            .stderr(Stdio::null()),
    );
    let addr = line.rsplit('@').next().unwrap().parse().unwrap();
    (child, addr)
}

/// Connect to `to`; through the proxy when `via` names the target.
fn connect_tunnel(proxy: SocketAddr, target: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(proxy).unwrap();
    s.set_nodelay(true).unwrap();
    // "warden:bench-secret"
    let request = format!(
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nProxy-Authorization: Basic d2FyZGVuOmJlbmNoLXNlY3JldA==\r\n\r\n"
    );
    s.write_all(request.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

fn open(to: SocketAddr, target: Option<SocketAddr>) -> TcpStream {
    match target {
        Some(target) => connect_tunnel(to, target),
        None => {
            let s = TcpStream::connect(to).unwrap();
            s.set_nodelay(true).unwrap();
            s
        }
    }
}

/// Bytes per second for one upload of `size` bytes.
fn upload(to: SocketAddr, target: Option<SocketAddr>, size: u64) -> f64 {
    let mut s = open(to, target);
    let chunk = vec![7u8; 1 << 20];
    let started = Instant::now();
    s.write_all(b"U").unwrap();
    s.write_all(&size.to_be_bytes()).unwrap();
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        s.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    let mut k = [0u8; 1];
    s.read_exact(&mut k).unwrap();
    size as f64 / started.elapsed().as_secs_f64()
}

fn echo_round(to: SocketAddr, target: Option<SocketAddr>) -> f64 {
    let started = Instant::now();
    let mut s = open(to, target);
    s.write_all(b"E").unwrap();
    let mut b = [0u8; 1];
    s.read_exact(&mut b).unwrap();
    started.elapsed().as_secs_f64()
}

fn median(v: &mut [f64]) -> f64 {
    percentile(v, 0.5)
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn status_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

fn hwm_kib(pid: u32) -> u64 {
    status_kib(pid, "VmHWM:")
}

/// The same 1 GiB upload from a Python client: directly, inside `warden exec` (through
/// Warden's proxy) and inside `srt` (through sandbox-runtime's proxy).
fn sandboxed_uploads(peers: &str, home: &std::path::Path, server: SocketAddr) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/egress/upload.py");
    let target = format!("localhost:{}", server.port());
    let run = |label: &str, argv: Vec<String>| {
        let mut best = 0.0f64;
        for _ in 0..3 {
            let out = Command::new(&argv[0])
                .args(&argv[1..])
                .env("WARDEN_HOME", home)
                .env("HOME", format!("{peers}/home"))
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            match text.trim().parse::<f64>() {
                Ok(rate) => best = best.max(rate),
                Err(_) => {
                    println!(
                        "{label}: failed: {text} {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    return 0.0;
                }
            }
        }
        println!("python 1 GiB upload, {label}: {:.2} GB/s", best / 1e9);
        best
    };
    let python = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        v.extend(["python3", script, &target, &GIB.to_string()].map(String::from));
        v
    };
    let direct = run("direct", python(&[]));
    let warden = run(
        "inside warden exec (Warden's proxy)",
        python(&[
            WARDEN,
            "-c",
            "network.allow=[\"localhost\"]",
            "-c",
            "network.allow_private=[\"127.0.0.1\"]",
            "exec",
            "--network",
            "proxy",
            "--",
        ]),
    );
    let settings = format!("{peers}/home/.srt-egress-settings.json");
    std::fs::write(
        &settings,
        "{\"network\":{\"allowedDomains\":[\"localhost\"],\"deniedDomains\":[]},\
         \"filesystem\":{\"denyRead\":[],\"allowWrite\":[\"/tmp\"],\"denyWrite\":[]}}",
    )
    .unwrap();
    let srt_bin = format!("{peers}/node_modules/.bin/srt");
    let srt = run(
        "inside srt (sandbox-runtime's proxy)",
        [srt_bin, "-s".into(), settings]
            .into_iter()
            .chain(python(&[]))
            .collect(),
    );
    if direct > 0.0 {
        println!(
            "ratios to direct: warden {:.1}%, srt {:.1}%; warden/srt {:.2}x",
            100.0 * warden / direct,
            100.0 * srt / direct,
            if srt > 0.0 { warden / srt } else { f64::NAN }
        );
    }
}
