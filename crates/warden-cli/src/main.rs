//! `warden`: see the crate's docs.

fn main() -> std::process::ExitCode {
    warden_cli::warden_main()
}
