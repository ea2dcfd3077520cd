//! `warden mcp login|status|logout` as a person runs them, against a remote MCP server
//! behind a real OAuth authorization server (tests/mcp/oauth_server.py, the official
//! Python SDK), with the grant in the real gnome-keyring: scripts/test.sh runs the suite
//! in a private D-Bus session with WARDEN_TEST_KEYRING=1; elsewhere the test says so and
//! does nothing. The "browser" is a script that follows the sign-in page's redirects.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use warden_testkit::oauth_mcp::OAuthMcpServer;

const WARDEN: &str = env!("CARGO_BIN_EXE_warden");

struct Profile {
    home: tempfile::TempDir,
}

impl Profile {
    fn new(server: &OAuthMcpServer) -> Self {
        let home = warden_testkit::scratch_dir();
        std::fs::write(
            home.path().join("config.toml"),
            format!(
                "[mcp_servers.docs]\nurl = \"{}\"\napproval = \"allow\"\n",
                server.url
            ),
        )
        .unwrap();
        let browser = home.path().join("browser.sh");
        std::fs::write(
            &browser,
            "#!/bin/sh\nexec curl -sS -L -o /dev/null \"$1\"\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { home }
    }

    fn warden(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(WARDEN);
        cmd.env("WARDEN_HOME", self.home.path())
            .env("WARDEN_BROWSER", self.home.path().join("browser.sh"))
            // Everything any library logs: a token must not be in it at any level.
            .env("WARDEN_LOG", "trace")
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.warden(args).output().unwrap()
    }
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn login_status_check_and_logout_from_the_command_line_with_renewals_shared_by_processes() {
    if std::env::var_os("WARDEN_TEST_KEYRING").is_none() {
        eprintln!(
            "skipped: set WARDEN_TEST_KEYRING=1 inside a D-Bus session with an unlocked keyring"
        );
        return;
    }
    let server = OAuthMcpServer::start(3);
    let profile = Profile::new(&server);
    let mut logs = String::new();

    let before = profile.run(&["mcp", "status", "docs"]);
    assert!(before.status.success(), "{}", text(&before));
    assert!(
        String::from_utf8_lossy(&before.stdout).contains("mcp:docs (")
            && String::from_utf8_lossy(&before.stdout).contains("not signed in"),
        "{}",
        text(&before)
    );

    let login = profile.run(&["mcp", "login", "docs"]);
    assert!(login.status.success(), "{}", text(&login));
    let said = String::from_utf8_lossy(&login.stdout);
    assert!(
        said.contains(&format!(
            "signed in as alice@corp.example with {} (client ",
            server.base
        )),
        "{said}"
    );
    assert!(
        said.contains("scopes mcp:tools")
            && said.contains("renewable")
            && said.contains("kept in the OS keyring"),
        "{said}"
    );
    assert!(
        String::from_utf8_lossy(&login.stderr).contains("/authorize?"),
        "the page is printed: {}",
        text(&login)
    );
    logs.push_str(&text(&login));

    let check = profile.run(&["mcp", "status", "docs", "--check"]);
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("connects: 4 tools"),
        "{}",
        text(&check)
    );
    logs.push_str(&text(&check));

    // The grant as the keyring holds it (this profile's entry).
    let account = format!(
        "oauth:mcp:docs:{}:{}",
        server.url,
        profile.home.path().display()
    );
    let stored: serde_json::Value = serde_json::from_str(
        &keyring::Entry::new("dev.warden.Warden", &account)
            .unwrap()
            .get_password()
            .unwrap(),
    )
    .unwrap();
    let access = stored["token_response"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let refresh = stored["token_response"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    // The OpenID Connect ID token names the person; it is a credential too.
    let id_token = stored["token_response"]["id_token"]
        .as_str()
        .unwrap()
        .to_string();

    // Expired: one process renews it; a second process, after it, uses the renewed
    // token without renewing again.
    std::thread::sleep(Duration::from_secs(4));
    let first = profile.run(&["mcp", "status", "docs", "--check"]);
    assert!(first.status.success(), "{}", text(&first));
    assert_eq!(server.stats()["refreshes"].as_u64(), Some(1));
    let second = profile.run(&["mcp", "status", "docs", "--check"]);
    assert!(second.status.success(), "{}", text(&second));
    assert_eq!(
        server.stats()["refreshes"].as_u64(),
        Some(1),
        "the second process used the renewed token"
    );
    logs.push_str(&text(&first));
    logs.push_str(&text(&second));

    // Expired again, two processes at once: the refresh tokens rotate on every use, yet
    // neither undoes the other (each renews from what the keyring holds, in turn).
    std::thread::sleep(Duration::from_secs(4));
    let both: Vec<_> = (0..2)
        .map(|_| {
            profile
                .warden(&["mcp", "status", "docs", "--check"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in both {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        logs.push_str(&text(&out));
    }
    let stats = server.stats();
    assert_eq!(stats["refused_refreshes"].as_u64(), Some(0), "{stats}");
    assert!(stats["refreshes"].as_u64() >= Some(2), "{stats}");

    // The first tokens are nowhere but the keyring: not in the profile's files (config,
    // audit database, locks) and not in anything the commands printed or logged.
    for (what, secret) in [
        ("access token", &access),
        ("refresh token", &refresh),
        ("ID token", &id_token),
    ] {
        assert_eq!(
            warden_testkit::files_containing(profile.home.path(), secret),
            Vec::<String>::new()
        );
        let line = logs.lines().find(|l| l.contains(secret.as_str()));
        assert!(
            line.is_none(),
            "the {what} in the output or logs: {}",
            line.unwrap_or_default()
                .replace(secret.as_str(), "<SECRET>")
        );
    }

    let logout = profile.run(&["mcp", "logout", "docs"]);
    assert!(
        String::from_utf8_lossy(&logout.stdout).contains("not signed in"),
        "{}",
        text(&logout)
    );
    // The audit trail has the sign-in (who, with which server and scopes) and the
    // sign-out, each a record of its own; searching it finds them by the account.
    let audit = profile.run(&[
        "audit",
        "search",
        "--kind",
        "credentialChanged",
        "--json",
        "alice@corp.example",
    ]);
    assert!(audit.status.success(), "{}", text(&audit));
    let hits: Vec<serde_json::Value> = String::from_utf8_lossy(&audit.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let changes: Vec<String> = hits
        .iter()
        .map(|h| h.to_string())
        .filter(|h| h.contains("\"target\":\"mcp:docs\""))
        .collect();
    assert!(
        changes.iter().any(|h| h.contains("\"signedOut\""))
            && changes
                .iter()
                .any(|h| h.contains("\"signedIn\"") && h.contains("mcp:tools")),
        "{}",
        text(&audit)
    );
    let listed = profile.run(&["audit", "list"]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("sign-in"),
        "{}",
        text(&listed)
    );

    let after = profile.run(&["mcp", "status", "docs", "--check"]);
    assert_eq!(after.status.code(), Some(1), "{}", text(&after));
    assert!(
        String::from_utf8_lossy(&after.stdout).contains("warden mcp login docs"),
        "{}",
        text(&after)
    );

    // Mistakes say what was wrong.
    let unknown = profile.run(&["mcp", "login", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&unknown.stderr)
            .contains("no MCP server named `nope` is configured; remote servers: docs"),
        "{}",
        text(&unknown)
    );
}
