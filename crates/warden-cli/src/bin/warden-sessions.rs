//! `warden-sessions`: the commands `warden` hands over (`run`, `audit`, `serve`); see the
//! crate's docs.

fn main() -> std::process::ExitCode {
    warden_cli::sessions_main(warden_rules::load_rules)
}
