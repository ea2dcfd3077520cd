//! OTLP export against a real receiver (tests/otlp/receiver.py, built on the official
//! opentelemetry-proto messages and grpcio), over HTTP/protobuf and gRPC, including a
//! collector outage in the middle of a session.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use serde_json::Value;
use warden_audit::{AuditStore, ExporterConfig, OtlpProtocol, TlsSettings};
use warden_protocol::{Actor, Event, EventMsg, SandboxDenial, Verdict};

struct Receiver {
    child: Child,
    http: u16,
    grpc: u16,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::var_os("WARDEN_OTLP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python3"))
}

fn start_receiver(out: &Path, http: u16, grpc: u16) -> Receiver {
    start_receiver_with(
        out,
        &[
            "--http-port",
            &http.to_string(),
            "--grpc-port",
            &grpc.to_string(),
        ],
    )
}

fn start_receiver_with(out: &Path, args: &[&str]) -> Receiver {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/otlp/receiver.py");
    // Run scripts/setup.sh first: the receiver runs in its .venv.
    let (child, line) = warden_testkit::start_with_first_line(
        Command::new(python())
            .arg(script)
            .args(["--out", out.to_str().unwrap()])
            .args(args),
    );
    let ports: HashMap<&str, u16> = line
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("receiver said {line:?}"))
        .split(' ')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k, v.parse().unwrap())
        })
        .collect();
    Receiver {
        child,
        http: ports["http"],
        grpc: ports["grpc"],
    }
}

fn received(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn wait_for_unique(out: &Path, n: usize) -> Vec<Value> {
    for _ in 0..300 {
        let got = received(out);
        let unique: std::collections::HashSet<String> =
            got.iter().map(|r| attr(r, "warden.event.id")).collect();
        if unique.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "fewer than {n} distinct events arrived: {:?}",
        received(out).len()
    );
}

fn attr(record: &Value, key: &str) -> String {
    let found = record["attributes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["key"] == key);
    match found.map(|a| &a["value"]) {
        Some(v) => v["stringValue"]
            .as_str()
            .or(v["intValue"].as_str())
            .map(String::from)
            .unwrap_or_else(|| v.to_string()),
        None => String::new(),
    }
}

fn events(session: &str, from: u64, to: u64) -> Vec<Event> {
    (from..=to)
        .map(|seq| {
            let msg = match seq % 5 {
                1 => EventMsg::UserPrompt {
                    text: format!("secret plan number {seq}"),
                },
                2 => EventMsg::ToolCallProposed {
                    call_id: format!("c{seq}"),
                    tool: "shell".into(),
                    summary: "curl https://example.com".into(),
                    cwd: "/w".into(),
                    arguments: serde_json::json!({}),
                },
                3 => EventMsg::Decision {
                    call_id: format!("c{seq}"),
                    verdict: Verdict::Forbidden,
                    actor: Actor::Rule,
                    reasons: vec![],
                },
                4 => EventMsg::ToolResult {
                    call_id: format!("c{seq}"),
                    success: false,
                    exit_code: Some(7),
                    duration_ms: 12,
                    output: "no".into(),
                },
                _ => EventMsg::SandboxDenied {
                    call_id: format!("c{seq}"),
                    denial: SandboxDenial {
                        operation: "write".into(),
                        target: "/etc/x".into(),
                        layer: "landlock".into(),
                        detail: "blocked".into(),
                    },
                },
            };
            Event {
                session_id: session.into(),
                seq: Some(seq),
                created_at: 1_700_000_000_000 + seq as i64,
                turn: None,
                msg,
            }
        })
        .collect()
}

async fn exports_survive_an_outage(protocol: OtlpProtocol) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("received.jsonl");
    let receiver = start_receiver(&out, 0, 0);
    let (http, grpc) = (receiver.http, receiver.grpc);
    let endpoint = match protocol {
        OtlpProtocol::HttpProtobuf => format!("http://127.0.0.1:{http}"),
        OtlpProtocol::Grpc => format!("http://127.0.0.1:{grpc}"),
    };
    let store = AuditStore::open(&dir.path().join("audit.sqlite"))
        .await
        .unwrap();
    store.create_session("s", "/w", 0).await.unwrap();
    let exporter = store
        .start_export(ExporterConfig {
            protocol,
            endpoint,
            headers: vec![("x-collector-key".into(), "k".into())],
            export_prompts: false,
            batch_size: 7,
            backlog_warning: 10,
            backlog_cap: 0,
            timeout: Duration::from_secs(5),
            tls: Default::default(),
        })
        .unwrap();

    store.append(events("s", 1, 5)).await.unwrap();
    let got = wait_for_unique(&out, 5).await;
    let first = &got[0];
    assert_eq!(first["eventName"], "warden.userPrompt");
    assert_eq!(attr(first, "event.name"), "warden.userPrompt");
    assert_eq!(attr(first, "warden.session.id"), "s");
    assert_eq!(attr(first, "warden.event.seq"), "1");
    // The first prompt opens turn 1.
    assert_eq!(attr(first, "warden.turn"), "1");
    assert_eq!(attr(first, "warden.actor"), "user");
    assert_eq!(
        first["body"]["stringValue"],
        r#"{"text":"[REDACTED:prompt]","type":"userPrompt"}"#
    );
    assert!(
        !std::fs::read_to_string(&out)
            .unwrap()
            .contains("secret plan"),
        "prompts are not exported unless allowed"
    );
    assert_eq!(
        first["resource"]["attributes"][0]["value"]["stringValue"],
        "warden"
    );
    let denial = got
        .iter()
        .find(|r| r["eventName"] == "warden.sandboxDenied")
        .unwrap();
    assert_eq!(
        (
            denial["severityText"].as_str(),
            attr(denial, "warden.sandbox.target").as_str()
        ),
        (Some("WARN"), "/etc/x")
    );
    let result = got
        .iter()
        .find(|r| r["eventName"] == "warden.toolResult")
        .unwrap();
    assert_eq!(attr(result, "process.exit.code"), "7");

    // The collector goes away; the session goes on.
    drop(receiver);
    store.append(events("s", 6, 30)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status = exporter.status();
    assert_eq!(status.state, "retrying", "{status:?}");
    assert!(status.backlog >= 25 && status.backlog_warning, "{status:?}");
    assert!(status.last_error.is_some());

    // It comes back on the same ports: everything arrives, in order per session.
    let _back = start_receiver(&out, http, grpc);
    let got = wait_for_unique(&out, 30).await;
    let mut seen = std::collections::HashSet::new();
    let mut order = Vec::new();
    for r in &got {
        if seen.insert(attr(r, "warden.event.id")) {
            order.push(attr(r, "warden.event.seq").parse::<u64>().unwrap());
        }
    }
    assert_eq!(order, (1..=30).collect::<Vec<_>>());
    assert_drained(&exporter).await;
}

/// The exporter ends up connected with nothing waiting.
async fn assert_drained(exporter: &warden_audit::Exporter) {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = exporter.status();
    assert_eq!(
        (status.state.as_str(), status.backlog),
        ("connected", 0),
        "{status:?}"
    );
}

#[tokio::test]
async fn http_protobuf_export_survives_a_collector_outage() {
    exports_survive_an_outage(OtlpProtocol::HttpProtobuf).await;
}

#[tokio::test]
async fn grpc_export_survives_a_collector_outage() {
    exports_survive_an_outage(OtlpProtocol::Grpc).await;
}

#[tokio::test]
async fn a_backlog_past_its_cap_sends_the_newest_and_counts_the_oldest_as_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("received.jsonl");
    let receiver = start_receiver(&out, 0, 0);
    let store = AuditStore::open(&dir.path().join("audit.sqlite"))
        .await
        .unwrap();
    store.create_session("s", "/w", 0).await.unwrap();
    // 25 events wait (the collector was never reached) where the cap allows 10.
    store.append(events("s", 1, 25)).await.unwrap();
    let config = ExporterConfig {
        protocol: OtlpProtocol::HttpProtobuf,
        endpoint: format!("http://127.0.0.1:{}", receiver.http),
        headers: vec![],
        export_prompts: false,
        batch_size: 7,
        backlog_warning: 5,
        backlog_cap: 10,
        timeout: Duration::from_secs(5),
        tls: Default::default(),
    };
    let exporter = store.start_export(config.clone()).unwrap();
    let got = wait_for_unique(&out, 10).await;
    let mut seqs: Vec<u64> = got
        .iter()
        .map(|r| attr(r, "warden.event.seq").parse().unwrap())
        .collect();
    seqs.dedup();
    assert_eq!(
        seqs,
        (16..=25).collect::<Vec<_>>(),
        "the newest 10, in order"
    );
    assert_drained(&exporter).await;
    assert_eq!(exporter.status().skipped, 15);
    drop(exporter);

    // The gap is recorded: a new exporter reports it, and sends only what is new.
    store.append(events("s", 26, 27)).await.unwrap();
    let exporter = store.start_export(config).unwrap();
    wait_for_unique(&out, 12).await;
    assert_drained(&exporter).await;
    assert_eq!(exporter.status().skipped, 15);
    // The skipped events are still in the store, and it still verifies.
    let (kept, _) = store.timeline("s", 0, 100).await.unwrap();
    assert_eq!(kept.len(), 27);
    assert!(store.verify().await.unwrap().broken.is_none());
}

/// A receiver serving TLS that requires a client certificate from the test CA.
fn start_tls_receiver(out: &Path, certs: &Path) -> Receiver {
    let file = |name: &str| certs.join(name).to_str().unwrap().to_string();
    start_receiver_with(
        out,
        &[
            "--tls-cert",
            &file("server.pem"),
            "--tls-key",
            &file("server.key"),
            "--client-ca",
            &file("ca.pem"),
        ],
    )
}

async fn export_over_mutual_tls(protocol: OtlpProtocol) {
    let dir = tempfile::tempdir().unwrap();
    warden_testkit::tls::certificates(dir.path());
    let out = dir.path().join("received.jsonl");
    let receiver = start_tls_receiver(&out, dir.path());
    let port = match protocol {
        OtlpProtocol::HttpProtobuf => receiver.http,
        OtlpProtocol::Grpc => receiver.grpc,
    };
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    let config = |tls: TlsSettings| ExporterConfig {
        protocol,
        endpoint: format!("https://127.0.0.1:{port}"),
        headers: vec![],
        export_prompts: false,
        batch_size: 100,
        backlog_warning: 1000,
        backlog_cap: 0,
        timeout: Duration::from_secs(5),
        tls,
    };
    let trusted = TlsSettings {
        ca_pem: Some(read("ca.pem")),
        client_identity: Some((read("client.pem"), read("client.key"))),
    };
    let cases = [
        // The system's roots do not know the test CA: the server is not trusted.
        (
            "untrusted server",
            TlsSettings {
                ca_pem: None,
                ..trusted.clone()
            },
        ),
        // The server is trusted but wants a client certificate.
        (
            "no client certificate",
            TlsSettings {
                client_identity: None,
                ..trusted.clone()
            },
        ),
    ];
    for (case, tls) in cases {
        let store = AuditStore::open(&dir.path().join(format!("{case}.sqlite")))
            .await
            .unwrap();
        store.create_session("s", "/w", 0).await.unwrap();
        let exporter = store.start_export(config(tls)).unwrap();
        store.append(events("s", 1, 3)).await.unwrap();
        let mut status = exporter.status();
        for _ in 0..100 {
            if status.last_error.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            status = exporter.status();
        }
        assert_eq!(status.state, "retrying", "{case}: {status:?}");
        assert_eq!(status.backlog, 3, "{case}: {status:?}");
        let error = status.last_error.unwrap_or_default();
        assert!(
            error.contains(&format!("127.0.0.1:{port}")),
            "{case}: {error}"
        );
        assert!(received(&out).is_empty(), "{case}: something arrived");
    }

    let store = AuditStore::open(&dir.path().join("audit.sqlite"))
        .await
        .unwrap();
    store.create_session("s", "/w", 0).await.unwrap();
    let exporter = store.start_export(config(trusted)).unwrap();
    store.append(events("s", 1, 5)).await.unwrap();
    let got = wait_for_unique(&out, 5).await;
    assert_eq!(attr(&got[0], "warden.session.id"), "s");
    assert_drained(&exporter).await;
}

#[tokio::test]
async fn http_export_over_mutual_tls_trusts_only_the_configured_ca() {
    export_over_mutual_tls(OtlpProtocol::HttpProtobuf).await;
}

#[tokio::test]
async fn grpc_export_over_mutual_tls_trusts_only_the_configured_ca() {
    export_over_mutual_tls(OtlpProtocol::Grpc).await;
}

/// Two processes' exporters on one store: one holds the export lease and sends, the other
/// waits in standby; every event reaches the collector once, and when the sender stops
/// the other takes over.
#[tokio::test]
async fn one_process_at_a_time_exports_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("received.jsonl");
    let receiver = start_receiver(&out, 0, 0);
    let path = dir.path().join("audit.sqlite");
    let first = AuditStore::open(&path).await.unwrap();
    let second = AuditStore::open(&path).await.unwrap();
    first.create_session("a", "/w", 0).await.unwrap();
    second.create_session("b", "/w", 0).await.unwrap();
    let config = plain_config(OtlpProtocol::HttpProtobuf, receiver.http, 5);
    let sending = first.start_export(config.clone()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waiting = second.start_export(config).unwrap();
    first.append(events("a", 1, 20)).await.unwrap();
    second.append(events("b", 1, 20)).await.unwrap();
    let both_running = wait_for_unique(&out, 40).await;
    assert_eq!(
        both_running.len(),
        40,
        "each event sent once while both ran"
    );
    assert_eq!(waiting.status().state, "standby");
    // Stopped mid-batch, the sender may leave its last batch unacknowledged: the other
    // sends it again (at least once; `warden.event.id` tells the copies apart).
    drop(sending);
    second.append(events("b", 21, 30)).await.unwrap();
    let got = wait_for_unique(&out, 50).await;
    assert_drained(&waiting).await;
    let unique: std::collections::HashSet<String> =
        got.iter().map(|r| attr(r, "warden.event.id")).collect();
    assert_eq!(unique.len(), 50, "every event arrived");
}

/// The collector's copy is a witness no local edit can change: a tail cut made
/// consistent with itself (seals and witness rewritten, as someone with the user's rights
/// could) verifies locally, and is found against the copy.
#[tokio::test]
async fn the_collectors_copy_finds_a_cut_the_store_was_made_to_hide() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("received.jsonl");
    let receiver = start_receiver(&out, 0, 0);
    let path = dir.path().join("audit.sqlite");
    let store = AuditStore::open(&path).await.unwrap();
    store.create_session("s", "/w", 0).await.unwrap();
    for seq in 1..=12 {
        store.append(events("s", seq, seq)).await.unwrap();
    }
    let exporter = store
        .start_export(plain_config(OtlpProtocol::Grpc, receiver.grpc, 100))
        .unwrap();
    wait_for_unique(&out, 12).await;
    assert_drained(&exporter).await;
    drop(exporter);
    let copy = std::fs::read(&out).unwrap();
    assert_eq!(
        store
            .verify_against(copy.as_slice())
            .await
            .unwrap()
            .to_string(),
        "the copy's 12 events are all in the store"
    );
    drop(store);
    // Events 10–12 go, with their seals; the witness is rewritten to the new last seal and
    // the export cursor put back.
    let sql = "DROP TRIGGER events_are_append_only_delete; DROP TRIGGER seals_are_append_only_delete; \
               DELETE FROM events WHERE seq > 9; DELETE FROM seals WHERE id > 9; \
               UPDATE export_cursors SET last_id = 9; SELECT hash FROM seals WHERE id = 9;";
    let output = Command::new("sqlite3")
        .arg(&path)
        .arg(sql)
        .output()
        .unwrap();
    let hash = String::from_utf8_lossy(&output.stdout).trim().to_string();
    std::fs::write(
        dir.path().join("audit.sqlite-witness"),
        format!("warden-audit-witness v1 seal={:020} hash={hash:<64}\n", 9),
    )
    .unwrap();
    let store = AuditStore::open(&path).await.unwrap();
    assert_eq!(
        store.verify().await.unwrap().to_string(),
        "intact: 9 events in 1 session"
    );
    let report = store.verify_against(copy.as_slice()).await.unwrap();
    assert_eq!(
        report.to_string(),
        "BROKEN against the copy: session s event 10: it is in the copy but not in the store, and no retention run removed it (cut after it was sent)"
    );
}

/// An exporter to the plain (no TLS) receiver on `port`, no cap.
fn plain_config(protocol: OtlpProtocol, port: u16, batch_size: usize) -> ExporterConfig {
    ExporterConfig {
        protocol,
        endpoint: format!("http://127.0.0.1:{port}"),
        headers: vec![],
        export_prompts: false,
        batch_size,
        backlog_warning: 1000,
        backlog_cap: 0,
        timeout: Duration::from_secs(5),
        tls: Default::default(),
    }
}
