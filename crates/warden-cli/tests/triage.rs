//! `warden triage` against sessions recorded by real `warden run`s (the scripted model
//! drives them, the real sandbox runs them, a real SQLite file holds them). The alert's
//! process is read from the host while the command runs, as an endpoint tool would see it
//! (`/proc`), then written in each input format the tools use.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use warden_audit::AuditStore;
use warden_protocol::{Event, EventMsg, SessionIdentity};
use warden_testkit::{Scenario, Script, ScriptedModel, Step};

const WARDEN: &str = env!("CARGO_BIN_EXE_warden");

/// A process as `/proc` shows it.
#[derive(Debug, Clone)]
struct Seen {
    pid: u32,
    ppid: u32,
    exe: String,
    cmdline: String,
    started_ms: i64,
    uid: u32,
}

fn proc_field(pid: u32, n: usize) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(n - 3).map(str::to_string)
}

fn seen(pid: u32) -> Option<Seen> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline)
        .trim_end_matches('\0')
        .replace('\0', " ");
    let ticks: i64 = proc_field(pid, 22)?.parse().ok()?;
    let btime: i64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(Seen {
        pid,
        ppid: proc_field(pid, 4)?.parse().ok()?,
        exe: std::fs::read_link(format!("/proc/{pid}/exe"))
            .ok()?
            .display()
            .to_string(),
        cmdline,
        started_ms: btime * 1000 + ticks * 10,
        uid,
    })
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// Wait for a process whose command line holds `marker`, and its child.
fn find_running(marker: &str) -> (Seen, Seen) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let shell = all_pids()
            .into_iter()
            .filter_map(seen)
            .find(|s| s.cmdline.contains(marker) && s.cmdline.starts_with("sh "));
        if let Some(shell) = shell
            && let Some(child) = all_pids()
                .into_iter()
                .filter_map(seen)
                .find(|s| s.ppid == shell.pid && s.cmdline.starts_with("sleep"))
        {
            return (shell, child);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no process with {marker} appeared");
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

fn user(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.get(2)? == &uid.to_string().as_str()).then(|| f[0].to_string())
        })
        .unwrap()
}

/// A fixture with `{{NAME}}`s filled in (string values JSON-escaped).
fn fill(format: &str, values: &[(&str, String)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../warden-triage/fixtures")
        .join(format!("{format}.json"));
    let mut text = std::fs::read_to_string(path).unwrap();
    for (name, value) in values {
        let escaped = serde_json::to_string(value).unwrap();
        text = text.replace(&format!("{{{{{name}}}}}"), &escaped[1..escaped.len() - 1]);
    }
    assert!(!text.contains("{{"), "unfilled: {text}");
    text
}

fn iso(ms: i64) -> String {
    format!(
        "{}.{:03}Z",
        warden_protocol::utc_time(ms).replacen(' ', "T", 1),
        ms % 1000
    )
}

fn calendar(ms: i64) -> String {
    // osquery's calendarTime: "Mon Dec  7 10:00:00 2026 UTC".
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let text = warden_protocol::utc_time(ms);
    let (date, clock) = text.split_once(' ').unwrap();
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let weekday = DAYS[(ms.div_euclid(86_400_000) % 7) as usize];
    format!(
        "{weekday} {} {:>2} {clock} {} UTC",
        MONTHS[d[1] as usize - 1],
        d[2],
        d[0]
    )
}

struct World {
    home: tempfile::TempDir,
    workspace: PathBuf,
}

impl World {
    fn warden(&self, args: &[&str]) -> Output {
        Command::new(WARDEN)
            .env("WARDEN_HOME", self.home.path())
            .env_remove("OPENAI_API_KEY")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn triage(&self, name: &str, alert: &str, extra: &[&str]) -> Output {
        let file = self.home.path().join(format!("{name}.json"));
        std::fs::write(&file, alert).unwrap();
        let file = file.display().to_string();
        let mut args = vec!["triage", file.as_str()];
        args.extend(extra);
        self.warden(&args)
    }

    fn report(&self, name: &str, alert: &str) -> Value {
        let out = self.triage(name, alert, &["--json", "--rules"]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn alerts_in_every_format_find_the_session_their_process_came_from() {
    let marker = format!("triage-marker-{}", std::process::id());
    let line = format!("sleep 4; true # {marker}");
    let model = ScriptedModel::start(
        Script {
            scenarios: vec![Scenario {
                when: "run the long command".into(),
                steps: vec![
                    Step::Shell(vec!["sh".into(), "-c".into(), line.clone()]),
                    Step::Say("Done: {last_output}".into()),
                ],
            }],
        },
        None,
    )
    .await
    .unwrap();
    let home = warden_testkit::scratch_dir();
    let workspace = home.path().join("ws");
    std::fs::create_dir(&workspace).unwrap();
    let world = World { home, workspace };

    // The governed run, and the host's view of its processes while it runs.
    let run = Command::new(WARDEN)
        .env("WARDEN_HOME", world.home.path())
        .env_remove("OPENAI_API_KEY")
        .args([
            "-c",
            &format!("model.base_url={}", model.base_url),
            "run",
            "--cwd",
            &world.workspace.display().to_string(),
            "--approval",
            "on-request",
            "run the long command",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (shell, sleep) = tokio::task::spawn_blocking({
        let marker = marker.clone();
        move || find_running(&marker)
    })
    .await
    .unwrap();
    let alert_at = sleep.started_ms + 500;
    let done = tokio::task::spawn_blocking(move || run.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );

    // Which session and event Warden recorded the process in.
    let store = AuditStore::open(&world.home.path().join("audit.sqlite"))
        .await
        .unwrap();
    let recorded = store
        .processes_by_pid(&[shell.pid, shell.ppid])
        .await
        .unwrap();
    let target = recorded
        .first()
        .expect("the command's process is recorded")
        .clone();
    let EventMsg::ProcessStarted {
        pid,
        started_at,
        command_line,
        ..
    } = &target.msg
    else {
        panic!()
    };
    assert!(*pid == shell.pid || *pid == shell.ppid, "{pid} {shell:?}");
    assert!(
        (started_at - shell.started_ms).abs() < 1_000,
        "{started_at} {shell:?}"
    );
    assert!(command_line.contains(&marker));

    // A decoy on the same host three hours earlier: the same command, and the pid reused.
    let decoy = decoy(
        &store,
        sleep.pid,
        shell.pid,
        command_line,
        alert_at - 3 * 3_600_000,
    )
    .await;
    drop(store);

    let host = hostname();
    let values = |p: &Seen, parent_exe: String| {
        vec![
            ("TIME_ISO", iso(alert_at)),
            ("TIME_ISO_NS", iso(alert_at).replace('Z', "000000Z")),
            ("TIME_NS", (alert_at * 1_000_000).to_string()),
            ("TIME_MS", alert_at.to_string()),
            ("TIME_S", (alert_at / 1000).to_string()),
            ("TIME_CAL", calendar(alert_at)),
            ("START_S", (p.started_ms / 1000).to_string()),
            ("HOST", host.clone()),
            ("USER", user(p.uid)),
            ("UID", p.uid.to_string()),
            ("PID", p.pid.to_string()),
            ("PPID", p.ppid.to_string()),
            ("EXE", p.exe.clone()),
            ("NAME", p.exe.rsplit('/').next().unwrap().to_string()),
            ("DIR", p.exe.rsplit_once('/').unwrap().0.to_string()),
            ("CMD", p.cmdline.clone()),
            ("PEXE", parent_exe),
        ]
    };
    let sleep_values = values(&sleep, shell.exe.clone());
    for format in ["ecs", "falco", "osquery"] {
        let report = world.report(format, &fill(format, &sleep_values));
        let matches = report["matches"].as_array().unwrap();
        assert_eq!(
            matches[0]["session_id"], target.session_id,
            "{format}: {report:#}"
        );
        assert!(
            matches[0]["events"]
                .as_array()
                .unwrap()
                .contains(&target.seq.unwrap().into()),
            "{format}: {report:#}"
        );
        assert!(
            matches[0]["score"].as_f64().unwrap() >= 0.5,
            "{format}: {report:#}"
        );
        let why = matches[0]["why"].to_string();
        assert!(
            why.contains("parent") && why.contains("while the command ran"),
            "{format}: {why}"
        );
        assert!(
            matches.iter().all(|m| m["session_id"] != decoy.as_str()),
            "{format}: the decoy matched"
        );
        assert_eq!(report["analysis"], "rules");
        assert_eq!(report["alert"]["format"], format);
        assert!(report["report_session_id"].is_string());
    }
    // CrowdStrike's ids are its own, not pids: the shell's command line and start time,
    // on this host, find it.
    let shell_values = values(&shell, "/usr/bin/warden-sessions".into());
    let report = world.report("crowdstrike", &fill("crowdstrike", &shell_values));
    assert_eq!(
        report["matches"][0]["session_id"], target.session_id,
        "{report:#}"
    );
    assert!(
        report["matches"][0]["why"]
            .to_string()
            .contains("started at the same moment"),
        "{report:#}"
    );
    // High severity: never reads as closed (an escalation already says to look).
    assert!(
        report["verdict"] == "needs_escalation"
            || report["next_steps"][0]
                .as_str()
                .unwrap()
                .contains("a person must review it"),
        "{report:#}"
    );

    // Another host: ruled out, and said so.
    let elsewhere: Vec<(&str, String)> = sleep_values
        .iter()
        .map(|(k, v)| {
            (
                *k,
                if *k == "HOST" {
                    "build-server-9".to_string()
                } else {
                    v.clone()
                },
            )
        })
        .collect();
    let report = world.report("elsewhere", &fill("ecs", &elsewhere));
    assert_eq!(report["matches"], serde_json::json!([]), "{report:#}");
    assert!(
        report["counter_evidence"]
            .to_string()
            .contains("the alert is from build-server-9"),
        "{report:#}"
    );

    // Activity no governed agent did: a process that is not Warden's, now.
    let stranger = format!(
        r#"{{"@timestamp": "{}", "host.hostname": "{host}", "process.pid": {}, "process.command_line": "vim notes.txt", "process.executable": "/usr/bin/vim"}}"#,
        iso(alert_at),
        std::process::id()
    );
    let report = world.report("stranger", &stranger);
    assert_eq!(report["matches"], serde_json::json!([]));
    assert_eq!(report["verdict"], "insufficient_evidence");
    assert!(
        report["summary"]
            .as_str()
            .unwrap()
            .starts_with("No Warden session matches"),
        "{report:#}"
    );

    // Markdown for a ticket, from standard input.
    let mut child = Command::new(WARDEN)
        .env("WARDEN_HOME", world.home.path())
        .args(["triage", "-", "--format", "md", "--rules"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(fill("ecs", &sleep_values).as_bytes())
        .unwrap();
    let md = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    assert!(
        md.starts_with("# Triage: Process started from an agent workspace"),
        "{md}"
    );
    assert!(md.contains("A person decides"), "{md}");
    assert!(md.contains(&target.session_id), "{md}");

    // A malformed alert is refused, naming what was looked for.
    let out = world.triage("bad", r#"{"alarm": "something happened"}"#, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Looked for: ECS `@timestamp`") && err.contains("Found: `alarm`"),
        "{err}"
    );
    let out = world.triage("broken", "{not json", &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("the alert is not JSON"));

    // Each report is in the audit store, citing the session it matched.
    let store = AuditStore::open(&world.home.path().join("audit.sqlite"))
        .await
        .unwrap();
    let reports = store
        .events_between(&["triageReport"], 0, i64::MAX, 100)
        .await
        .unwrap();
    assert!(reports.len() >= 6, "{}", reports.len());
    assert!(reports.iter().any(|e| matches!(&e.msg, EventMsg::TriageReport { report } if report.matches.first().is_some_and(|m| m.session_id == target.session_id))));
    let verified = store.verify().await.unwrap();
    assert_eq!(verified.broken, None, "the store still verifies");
}

/// A session recorded at `at` on this host, with a process of `pid` running `line`.
async fn decoy(store: &AuditStore, pid: u32, parent: u32, line: &str, at: i64) -> String {
    let id = format!("decoy-{pid}");
    store.create_session(&id, "/elsewhere", at).await.unwrap();
    let event = |seq, msg| Event {
        session_id: id.clone(),
        seq: Some(seq),
        created_at: at,
        turn: None,
        msg,
    };
    store
        .append(vec![
            event(
                1,
                EventMsg::SessionStarted {
                    cwd: "/elsewhere".into(),
                    sandbox: warden_protocol::SandboxMode::WorkspaceWrite,
                    approval: warden_protocol::ApprovalPolicy::OnRequest,
                    model: "m".into(),
                    wire_api: "responses".into(),
                    policy: Default::default(),
                    identity: Some(SessionIdentity {
                        hostname: hostname(),
                        user: "root".into(),
                        uid: 0,
                    }),
                },
            ),
            event(
                2,
                EventMsg::ProcessStarted {
                    call_id: "c1".into(),
                    pid,
                    started_at: at,
                    executable: "/usr/bin/sh".into(),
                    command_line: line.into(),
                    parent_pid: parent,
                    parent_executable: "/usr/bin/warden-sessions".into(),
                },
            ),
        ])
        .await
        .unwrap();
    id
}
