//! `warden insights` as a user runs it: three real `warden run` sessions on a terminal
//! (`script` gives a real pseudo-terminal) where the person approves the same command,
//! then the figures in text and JSON, the suggestion applied with `--apply`, and the next
//! identical command allowed without anyone to ask. Bad periods are refused by name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use warden_testkit::{Script, ScriptedModel};

const WARDEN: &str = env!("CARGO_BIN_EXE_warden");

struct Env {
    home: tempfile::TempDir,
    workspace: std::path::PathBuf,
    model: ScriptedModel,
}

impl Env {
    async fn new() -> Self {
        let home = warden_testkit::scratch_dir();
        let workspace = home.path().join("ws");
        std::fs::create_dir(&workspace).unwrap();
        std::fs::write(workspace.join("README.md"), "hi\n").unwrap();
        let model = ScriptedModel::start(Script::standard(), None)
            .await
            .unwrap();
        Self {
            home,
            workspace,
            model,
        }
    }

    fn warden(&self, args: &[&str]) -> Output {
        Command::new(WARDEN)
            .env("WARDEN_HOME", self.home.path())
            .env_remove("OPENAI_API_KEY")
            .args(["-c", &format!("model.base_url={}", self.model.base_url)])
            .args(["-c", "approval=untrusted"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// `warden run TASK` on a pseudo-terminal, answering the approval with `answer`.
    fn run_on_terminal(&self, task: &str, answer: &str) -> String {
        let inner = format!(
            "{WARDEN} -c model.base_url={} -c approval=untrusted run --cwd '{}' '{task}'",
            self.model.base_url,
            self.workspace.display()
        );
        let mut child = Command::new("script")
            .args(["-q", "-e", "-c", &inner, "/dev/null"])
            .env("WARDEN_HOME", self.home.path())
            .env_remove("OPENAI_API_KEY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn figures_and_a_suggestion_applied_from_the_command_line() {
    let env = Env::new().await;
    for _ in 0..3 {
        let _ = std::fs::remove_file(env.workspace.join("created.txt"));
        let screen = env.run_on_terminal("create a file", "y\n");
        assert!(screen.contains("approved once by user"), "{screen}");
    }
    let ws = env.workspace.display().to_string();
    let listed = env.warden(&["run", "--cwd", &ws, "list files"]);
    assert!(listed.status.success(), "{}", text(&listed));

    let out = env.warden(&["insights", "--since", "7d"]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("Sessions: 4 in 1 workspace(s)"), "{shown}");
    assert!(
        shown.contains("Decisions: 4 (3 by a person, 75 %"),
        "{shown}"
    );
    assert!(shown.contains("3  allow by user"), "{shown}");
    assert!(
        shown.contains("1. Allow `touch created.txt`: approved 3 times, never refused"),
        "{shown}"
    );
    assert!(
        shown.contains("apply: warden insights --apply 1"),
        "{shown}"
    );

    let json = env.warden(&["insights", "--json"]);
    let figures: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(figures["sessions"], 4);
    assert_eq!(figures["byPerson"], 3);
    assert_eq!(figures["tools"][0]["name"], "shell");
    assert_eq!(figures["tools"][0]["n"], 4);
    assert_eq!(figures["suggestions"][0]["kind"], "allowCommand");
    assert!(figures["medianAnswerMs"].as_u64().is_some(), "{figures}");

    let applied = env.warden(&["insights", "--apply", "1"]);
    assert!(applied.status.success(), "{}", text(&applied));
    assert!(
        text(&applied).contains("prefix_rule(touch created.txt) = allow"),
        "{}",
        text(&applied)
    );
    // No terminal now, so nobody could be asked: the rule alone lets it run.
    std::fs::remove_file(env.workspace.join("created.txt")).unwrap();
    let next = env.warden(&["run", "--cwd", &ws, "create a file"]);
    assert!(next.status.success(), "{}", text(&next));
    assert!(
        env.workspace.join("created.txt").exists(),
        "{}",
        text(&next)
    );
    let again = env.warden(&["insights", "--apply", "1"]);
    assert!(!again.status.success());
    assert!(
        !text(&again).contains("touch created.txt"),
        "the suggestion is gone: {}",
        text(&again)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_period_that_cannot_be_read_is_refused_by_name() {
    let env = Env::new().await;
    for (args, field) in [
        (vec!["insights", "--since", "a week"], "`since`"),
        (vec!["insights", "--until", "2026-13-01"], "`until`"),
    ] {
        let out = env.warden(&args);
        assert!(!out.status.success());
        let said = text(&out);
        assert!(
            said.contains(field) && said.contains("period_invalid"),
            "{said}"
        );
    }
}
