//! The egress proxy as users meet it: real clients (curl, git, Python's urllib, curl as
//! a SOCKS5 client) run through `warden exec --network proxy` against HTTP and HTTPS
//! servers on a loopback address, and `warden proxy` on its own. Asks are answered on a
//! real terminal (`script` gives the command a pty).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

const WARDEN: &str = env!("CARGO_BIN_EXE_warden");
/// The test servers' address: allowed by IP in every test's config.
const SERVER_IP: &str = "127.0.0.2";

/// Servers shared by every test in this binary (they exit when it does).
struct Servers {
    root: tempfile::TempDir,
    http: u16,
    https: u16,
    _child: Child,
}

fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("index.html"), "hello from web.test\n").unwrap();
        // A bare repository git can clone over plain ("dumb") HTTP.
        let src = root.path().join("src");
        let git = |args: &[&str], dir: &Path| {
            let ok = Command::new("git")
                .args(args)
                .current_dir(dir)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .output()
                .unwrap();
            assert!(ok.status.success(), "git {args:?}: {ok:?}");
        };
        std::fs::create_dir(&src).unwrap();
        git(&["init", "-q"], &src);
        std::fs::write(src.join("README"), "proxied\n").unwrap();
        git(&["add", "README"], &src);
        git(
            &[
                "-c",
                "user.email=t@t",
                "-c",
                "user.name=t",
                "commit",
                "-qm",
                "init",
            ],
            &src,
        );
        git(&["clone", "-q", "--bare", "src", "repo.git"], root.path());
        git(&["update-server-info"], &root.path().join("repo.git"));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/egress/servers.py");
        let (child, line) = warden_testkit::start_with_first_line(
            Command::new("python3")
                .arg(script)
                .args([SERVER_IP, root.path().to_str().unwrap()])
                .stdin(Stdio::piped()),
        );
        let ports: serde_json::Value = serde_json::from_str(&line).unwrap();
        Servers {
            http: ports["http"].as_u64().unwrap() as u16,
            https: ports["https"].as_u64().unwrap() as u16,
            root,
            _child: child,
        }
    })
}

/// A Warden home and workspace for one test.
struct Lab {
    home: tempfile::TempDir,
    _workspace_dir: tempfile::TempDir,
    workspace: PathBuf,
    config: Vec<String>,
}

fn lab(extra: &[&str]) -> Lab {
    let s = servers();
    let home = tempfile::tempdir().unwrap();
    let workspace_dir = tempfile::tempdir().unwrap();
    let workspace = workspace_dir.path().to_path_buf();
    let mut config = vec![
        format!(
            "network.hosts={{\"web.test\"=[\"{SERVER_IP}\"], \"alias.test\"=[\"{SERVER_IP}\"], \
             \"sneaky.test\"=[\"127.0.0.1\"]}}"
        ),
        format!("network.allow_private=[\"{SERVER_IP}\"]"),
        format!("network.tls_ports=[{}]", s.https),
    ];
    config.extend(extra.iter().map(|s| s.to_string()));
    Lab {
        home,
        _workspace_dir: workspace_dir,
        workspace,
        config,
    }
}

impl Lab {
    fn command(&self) -> Command {
        let mut cmd = Command::new(WARDEN);
        cmd.env("WARDEN_HOME", self.home.path())
            .current_dir(&self.workspace);
        for c in &self.config {
            cmd.arg("-c").arg(c);
        }
        cmd
    }

    /// `warden exec --network proxy -- ARGV` without a terminal.
    fn exec(&self, argv: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.args(["exec", "--network", "proxy", "--"])
            .args(argv)
            .stdin(Stdio::null());
        let out = cmd.output().unwrap();
        // Whatever the command's fate, Warden itself ends cleanly (with or without the
        // hand-over to `warden-sessions` that rules files cause).
        assert!(!text(&out.stderr).contains("panicked"), "{out:?}");
        out
    }

    /// `warden [-c CONFIG]... ARGS` on a terminal (via `script`), with its keyboard
    /// (stdin) and screen (stdout) piped to the test.
    fn on_tty(&self, args: &[String]) -> Child {
        let mut line = vec![WARDEN.to_string()];
        for c in &self.config {
            line.push("-c".into());
            line.push(c.clone());
        }
        line.extend(args.iter().cloned());
        let quoted = shlex::try_join(line.iter().map(String::as_str)).unwrap();
        Command::new("script")
            .args(["-qec", &quoted, "/dev/null"])
            .env("WARDEN_HOME", self.home.path())
            .env_remove("OPENAI_API_KEY")
            .current_dir(&self.workspace)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// `warden exec --network proxy -- ARGV` on a terminal: silent for `silence`, then
    /// typing `answer` (if any).
    fn exec_on_tty(&self, argv: &[&str], answer: Option<&str>, silence: Duration) -> Output {
        let mut args: Vec<String> = ["exec", "--network", "proxy", "--"]
            .map(String::from)
            .into();
        args.extend(argv.iter().map(|s| s.to_string()));
        let mut child = self.on_tty(&args);
        let mut stdin = child.stdin.take().unwrap();
        std::thread::sleep(silence);
        if let Some(answer) = answer {
            stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        drop(stdin);
        out
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn web(path: &str) -> String {
    format!("http://web.test:{}{path}", servers().http)
}

#[test]
fn an_allowed_host_is_reached_by_curl_and_recorded() {
    let lab = lab(&["network.allow=[\"web.test\"]"]);
    let out = lab.exec(&["curl", "-sS", &web("/index.html")]);
    assert_eq!(text(&out.stdout), "hello from web.test\n", "{out:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "network: allow curl → web.test:{} (http; rule by session flag)",
            servers().http
        )),
        "{stderr}"
    );
}

#[test]
fn a_denied_host_gets_403_with_the_reason() {
    let lab = lab(&["network.deny=[\"web.test\"]"]);
    let out = lab.exec(&["curl", "-sS", "-i", &web("/index.html")]);
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{stdout}");
    assert!(stdout.contains("x-warden-block: denylist\r\n"), "{stdout}");
    assert!(stdout.contains("web.test"), "{stdout}");
    assert!(!stdout.contains("hello from web.test"), "{stdout}");
    assert!(text(&out.stderr).contains("network: DENY curl → web.test"));
}

#[test]
fn python_urllib_reaches_https_through_connect() {
    let lab = lab(&["network.allow=[\"web.test\"]"]);
    let url = format!("https://web.test:{}/index.html", servers().https);
    let program = format!(
        "import ssl, urllib.request\n\
         ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE\n\
         print(urllib.request.urlopen({url:?}, context=ctx).read().decode(), end='')"
    );
    let out = lab.exec(&["python3", "-c", &program]);
    assert_eq!(text(&out.stdout), "hello from web.test\n", "{out:?}");
    assert!(text(&out.stderr).contains("(connect; rule by session flag)"));
}

#[test]
fn git_clones_over_http_through_the_proxy() {
    let lab = lab(&["network.allow=[\"web.test\"]"]);
    let out = lab.exec(&["git", "clone", "-q", &web("/repo.git"), "cloned"]);
    assert!(out.status.success(), "{out:?}");
    let readme = std::fs::read_to_string(lab.workspace.join("cloned/README")).unwrap();
    assert_eq!(readme, "proxied\n");
}

#[test]
fn curl_as_a_socks5_client_with_remote_dns() {
    let lab = lab(&[
        "network.allow=[\"web.test\"]",
        "network.deny=[\"alias.test\"]",
    ]);
    let script = format!(
        "curl -sS --proxy \"$ALL_PROXY\" {} && curl -sS --proxy \"$ALL_PROXY\" http://alias.test:{}/",
        web("/index.html"),
        servers().http
    );
    let out = lab.exec(&["sh", "-c", &script]);
    assert_eq!(text(&out.stdout), "hello from web.test\n", "{out:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("(socks5; rule by session flag)"),
        "{stderr}"
    );
    assert!(stderr.contains("network: DENY alias.test"), "{stderr}");
    assert!(stderr.contains("(socks5; denylist"), "{stderr}");
    assert!(!out.status.success());
}

#[test]
fn an_unknown_host_asks_on_the_terminal_allow_once() {
    let lab = lab(&[]);
    let out = lab.exec_on_tty(
        &["curl", "-sS", &web("/index.html")],
        Some("o"),
        Duration::ZERO,
    );
    let all = text(&out.stdout);
    assert!(
        all.contains(&format!(
            "curl (from `curl -sS {}`) wants web.test:{}",
            web("/index.html"),
            servers().http
        )),
        "{all}"
    );
    assert!(all.contains("hello from web.test"), "{all}");
    assert!(all.contains("(http; user)"), "{all}");
}

#[test]
fn an_unknown_host_asks_on_the_terminal_deny() {
    let lab = lab(&[]);
    let out = lab.exec_on_tty(
        &["curl", "-sS", "-i", "--no-styled-output", &web("/")],
        Some("d"),
        Duration::ZERO,
    );
    let all = text(&out.stdout);
    assert!(all.contains("x-warden-block: not-allowed"), "{all}");
    assert!(all.contains("was denied when asked"), "{all}");
    assert!(!all.contains("hello from web.test"), "{all}");
}

#[test]
fn an_unanswered_ask_times_out_as_a_denial() {
    let lab = lab(&["network.ask_timeout_secs=1"]);
    let out = lab.exec_on_tty(
        &["curl", "-sS", "-i", "--no-styled-output", &web("/")],
        None,
        Duration::from_secs(4),
    );
    let all = text(&out.stdout);
    assert!(all.contains("[d]eny (refused in 1 s): "), "{all}");
    // The question ends with the wait, so the next keys typed answer the next question.
    assert!(
        all.contains(&format!(
            "no answer in time; web.test:{} is refused",
            servers().http
        )),
        "{all}"
    );
    assert!(all.contains("x-warden-block: timeout"), "{all}");
    assert!(all.contains("nobody allowed web.test"), "{all}");
}

#[test]
fn after_a_question_expires_the_next_keys_answer_the_next_question() {
    let lab = lab(&["network.ask_timeout_secs=3"]);
    let script = format!(
        "curl -sS -o /dev/null -w 'first %{{http_code}}\\n' {}; curl -sS {}",
        web("/"),
        web("/index.html")
    );
    // Nothing typed while the first question waits (3 s); "o" 1.5 s into the second.
    let out = lab.exec_on_tty(
        &["sh", "-c", &script],
        Some("o"),
        Duration::from_millis(4500),
    );
    let all = text(&out.stdout);
    assert!(all.contains("first 403"), "{all}");
    assert!(all.contains("hello from web.test"), "{all}");
}

#[test]
fn always_allow_writes_a_user_rule_that_later_runs_use() {
    let lab = lab(&[]);
    let out = lab.exec_on_tty(&["curl", "-sS", &web("/")], Some("a"), Duration::ZERO);
    assert!(text(&out.stdout).contains("hello from web.test"), "{out:?}");
    // `warden` has no rules language: `warden-sessions` checked the file it wrote.
    assert!(
        !text(&out.stdout).contains("cannot write the rule"),
        "{out:?}"
    );
    let rules = std::fs::read_to_string(lab.home.path().join("rules/default.rules")).unwrap();
    assert!(
        rules.contains("network_rule(host = \"web.test\", decision = \"allow\""),
        "{rules}"
    );
    // No terminal now: the rule alone allows it.
    // With a rules file, `warden` hands the command to `warden-sessions`.
    let again = lab.exec(&["curl", "-sS", &web("/index.html")]);
    assert_eq!(text(&again.stdout), "hello from web.test\n", "{again:?}");
    assert!(again.status.success(), "{again:?}");
    assert!(text(&again.stderr).contains("rule by user rules"));
}

#[test]
fn without_a_terminal_unknown_hosts_are_refused() {
    let lab = lab(&[]);
    let out = lab.exec(&["curl", "-sS", "-i", &web("/")]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("x-warden-block: not-allowed"), "{stdout}");
    assert!(stdout.contains("nobody can be asked"), "{stdout}");
}

#[test]
fn with_network_questions_off_the_terminal_is_not_asked() {
    let lab = lab(&["approvals.network=deny"]);
    let out = lab.exec_on_tty(
        &["curl", "-sS", "-i", "--no-styled-output", &web("/")],
        None,
        Duration::ZERO,
    );
    let all = text(&out.stdout);
    assert!(!all.contains("allow? [o]nce"), "asked anyway: {all}");
    assert!(all.contains("x-warden-block: not-allowed"), "{all}");
    assert!(all.contains("approvals.network is `deny`"), "{all}");
}

#[test]
fn where_no_network_namespace_can_be_made_the_proxy_mode_says_what_to_do() {
    // Inside Warden's own sandbox no namespace can be created: a nested `warden exec`
    // meets a machine without user namespaces.
    let lab = lab(&[]);
    let out = lab
        .command()
        .args([
            "exec",
            "--network",
            "deny",
            "--",
            WARDEN,
            "exec",
            "--",
            "/bin/true",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the egress proxy needs the sandbox's network namespace")
            && stderr.contains("run with `--network deny`"),
        "{stderr}"
    );
}

#[test]
fn an_allowed_name_resolving_to_a_private_address_is_refused() {
    let lab = lab(&["network.allow=[\"sneaky.test\"]"]);
    let url = format!("http://sneaky.test:{}/", servers().http);
    let out = lab.exec(&["curl", "-sS", "-i", &url]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("x-warden-block: private-address"),
        "{stdout}"
    );
    assert!(
        stdout.contains("resolves to 127.0.0.1, a loopback address"),
        "{stdout}"
    );
}

#[test]
fn a_tls_hello_for_another_host_is_refused() {
    let lab = lab(&["network.allow=[\"web.test\"]"]);
    let port = servers().https;
    // curl opens the tunnel to web.test but sends a hello naming alias.test.
    let out = lab.exec(&[
        "curl",
        "-sSk",
        "--connect-to",
        &format!("alias.test:{port}:web.test:{port}"),
        &format!("https://alias.test:{port}/index.html"),
    ]);
    assert!(!out.status.success(), "{out:?}");
    assert!(!text(&out.stdout).contains("hello"));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("sni-mismatch"), "{stderr}");
    assert!(
        stderr.contains("the TLS server name alias.test is not web.test"),
        "{stderr}"
    );
    // The honest hello goes through.
    let ok = lab.exec(&[
        "curl",
        "-sSk",
        &format!("https://web.test:{port}/index.html"),
    ]);
    assert_eq!(text(&ok.stdout), "hello from web.test\n", "{ok:?}");
}

#[test]
fn connections_without_a_live_credential_are_refused() {
    let lab = lab(&["network.allow=[\"web.test\"]"]);
    let script = format!(
        "bare=$(echo \"$HTTP_PROXY\" | sed 's#//[^@]*@#//#'); \
         curl -sS -i --proxy \"$bare\" {url}; \
         curl -sS -i --proxy \"$(echo \"$bare\" | sed 's#//#//warden:forged@#')\" {url}",
        url = web("/")
    );
    let out = lab.exec(&["sh", "-c", &script]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("HTTP/1.1 407 Proxy Authentication Required"),
        "{stdout}"
    );
    assert!(stdout.contains("HTTP/1.1 403 Forbidden"), "{stdout}");
    assert_eq!(stdout.matches("x-warden-block: no-credential").count(), 2);
    assert!(!stdout.contains("hello from web.test"));
}

#[test]
fn direct_connections_skip_nothing() {
    let lab = lab(&["network.allow=[\"web.test\"]"]);
    let url = format!("http://{SERVER_IP}:{}/", servers().http);
    let out = lab.exec(&["curl", "-sS", "--noproxy", "*", &url]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "blocked: connect to {SERVER_IP}:{}",
            servers().http
        )),
        "{stderr}"
    );
}

/// `warden proxy` on its own: a started proxy, its printed environment, and raw
/// requests (malformed ones included) from this test.
#[test]
fn the_standalone_proxy_answers_malformed_requests_with_400_and_keeps_serving() {
    let lab = lab(&["network.allow=[\"web.test\"]"]);
    let (mut child, addr) = standalone_proxy(&lab);
    let exchange = |request: &[u8]| exchange(&addr, request);
    for bad in [
        &b"\x16\x03\x01\x00\x05hello\r\n\r\n"[..],
        b"GET /relative HTTP/1.1\r\n\r\n",
        b"CONNECT web.test HTTP/1.1\r\n\r\n",
        b"GET http://bad host/ HTTP/1.1\r\n\r\n",
    ] {
        let reply = exchange(bad);
        assert!(
            reply.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{reply:?}"
        );
    }
    let auth = "Proxy-Authorization: Basic d2FyZGVuOnMzY3JldA=="; // warden:s3cret
    let good = format!(
        "GET http://web.test:{}/index.html HTTP/1.1\r\nHost: web.test\r\n{auth}\r\n\r\n",
        servers().http
    );
    let reply = exchange(good.as_bytes());
    assert!(reply.starts_with("HTTP/1.0 200 OK"), "{reply}");
    assert!(reply.ends_with("hello from web.test\n"), "{reply}");
    // The event is printed once the proxy sees the connection close.
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    let _ = child.wait();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("network: allow web.test"), "{stderr}");
}

/// `warden proxy --credential s3cret` for `lab`, and the address it listens on.
fn standalone_proxy(lab: &Lab) -> (Child, String) {
    let (child, first) = warden_testkit::start_with_first_line(
        lab.command()
            .args(["proxy", "--credential", "s3cret"])
            .stdin(Stdio::null())
            .stderr(Stdio::piped()),
    );
    let proxy = first.strip_prefix("HTTP_PROXY=").unwrap().to_string();
    assert!(
        proxy.starts_with("http://warden:s3cret@127.0.0.1:"),
        "{proxy}"
    );
    let addr = proxy.rsplit('@').next().unwrap().to_string();
    (child, addr)
}

/// Send `request` to `addr` and read the reply until the connection closes.
fn exchange(addr: &str, request: &[u8]) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply
}

#[test]
fn a_slow_client_gets_408_and_does_not_hold_up_others() {
    let lab = lab(&[
        "network.allow=[\"web.test\"]",
        "network.header_timeout_secs=1",
    ]);
    let (mut child, addr) = standalone_proxy(&lab);
    // A client that starts a request head and never finishes it.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = std::time::Instant::now();
    slow.write_all(b"GET http://web.test/ HTTP/1.1\r\nHost: web.")
        .unwrap();
    // Meanwhile another client is served.
    let auth = "Proxy-Authorization: Basic d2FyZGVuOnMzY3JldA=="; // warden:s3cret
    let good = format!(
        "GET http://web.test:{}/index.html HTTP/1.1\r\nHost: web.test\r\n{auth}\r\n\r\n",
        servers().http
    );
    let reply = exchange(&addr, good.as_bytes());
    assert!(reply.ends_with("hello from web.test\n"), "{reply}");
    let mut reply = String::new();
    let _ = slow.read_to_string(&mut reply);
    let waited = started.elapsed();
    assert!(
        reply.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{reply:?}"
    );
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn a_zero_header_timeout_is_refused_naming_the_key() {
    let lab = lab(&["network.header_timeout_secs=0"]);
    let out = lab.command().args(["proxy"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("network.header_timeout_secs: must be at least 1"),
        "{stderr}"
    );
}

#[test]
fn the_servers_are_shared() {
    // Keep the folder alive for the whole binary.
    assert!(servers().root.path().join("index.html").exists());
}

/// `warden run` on a terminal: the agent's command is approved, its connection is asked
/// about, nobody answers, and the run goes on to its end without waiting for more keys.
#[test]
fn warden_run_stops_waiting_when_a_network_question_expires() {
    let lab = lab(&["network.ask_timeout_secs=2"]);
    std::fs::write(lab.workspace.join("url.txt"), web("/")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let model = runtime
        .block_on(warden_testkit::ScriptedModel::start(
            warden_testkit::Script::standard(),
            None,
        ))
        .unwrap();
    let mut child = lab.on_tty(&[
        "-c".into(),
        format!("model.base_url={}", model.base_url),
        "run".into(),
        "download the url".into(),
    ]);
    // "y" for the command; then silence, with the terminal open, for the connection.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"y\n").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let finished = child.try_wait().unwrap().is_some();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let screen = text(&out.stdout);
    assert!(
        finished,
        "the run waited for keys after the question expired:\n{screen}"
    );
    assert!(
        screen.contains("(refused in 2 s without an answer)"),
        "{screen}"
    );
    assert!(screen.contains("no answer in time"), "{screen}");
    assert!(out.status.success(), "{screen}");
    drop(model);
}

/// `warden exec` records what it decided: allowed and refused connections, attributed to
/// the command that made them, and what the sandbox refused; the store verifies.
#[test]
fn exec_records_its_network_decisions_and_denials_in_the_audit_store() {
    let lab = lab(&[
        "network.allow=[\"web.test\"]",
        "network.deny=[\"alias.test\"]",
    ]);
    let denied = format!("http://alias.test:{}/index.html", servers().http);
    let script = format!(
        "curl -sS {} >/dev/null; curl -sS {denied} >/dev/null; touch /etc/warden-probe; true",
        web("/index.html")
    );
    let out = lab.exec(&["sh", "-c", &script]);
    assert!(out.status.success(), "{out:?}");
    let audit = |args: &[&str]| {
        let out = lab.command().arg("audit").args(args).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        text(&out.stdout)
    };
    let list = audit(&["list"]);
    let session = list.split_whitespace().next().unwrap().to_string();
    assert!(list.contains("$ sh -c"), "{list}");
    let shown = audit(&["show", &session, "--json"]);
    let events: Vec<serde_json::Value> = shown
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["msg"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"sessionStarted"), "{kinds:?}");
    assert_eq!(kinds.get(1), Some(&"commandStarted"), "{kinds:?}");
    assert_eq!(
        &kinds[kinds.len() - 2..],
        ["toolResult", "sessionEnded"],
        "{kinds:?}"
    );
    let network: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["msg"]["type"] == "networkAccess")
        .collect();
    let decided: Vec<(&str, &str, &str)> = network
        .iter()
        .map(|e| {
            let access = &e["msg"]["access"];
            (
                access["host"].as_str().unwrap(),
                access["decision"].as_str().unwrap(),
                access["command"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(decided.len(), 2, "{shown}");
    assert_eq!(
        (decided[0].0, decided[0].1),
        ("web.test", "allow"),
        "{shown}"
    );
    assert_eq!(
        (decided[1].0, decided[1].1),
        ("alias.test", "deny"),
        "{shown}"
    );
    assert!(
        decided.iter().all(|d| d.2.starts_with("sh -c")),
        "{decided:?}"
    );
    assert!(network.iter().all(|e| e["msg"]["callId"] == "exec"));
    assert!(
        kinds.contains(&"sandboxDenied"),
        "the write to /etc is recorded: {kinds:?}"
    );
    let refused = audit(&["search", "--decision", "forbid", "--json"]);
    assert!(refused.contains("alias.test"), "{refused}");
    assert!(audit(&["verify"]).starts_with("intact: "));
}

/// A quiet command (no network, nothing refused) leaves no session behind.
#[test]
fn exec_records_nothing_for_a_command_with_nothing_to_record() {
    let lab = lab(&[]);
    let out = lab.exec(&["true"]);
    assert!(out.status.success(), "{out:?}");
    let list = lab.command().args(["audit", "list"]).output().unwrap();
    assert!(
        text(&list.stdout).contains("no sessions recorded"),
        "{list:?}"
    );
}
