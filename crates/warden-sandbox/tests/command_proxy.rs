//! A one-shot process's proxy listener, made by the sandboxed command's own child inside
//! its network namespace. Its own test binary: the process must not have warmed up
//! shared namespaces.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};

use warden_protocol::SandboxMode;
use warden_sandbox::{CommandProxy, Egress, Io, SandboxPolicy, command_behind};

#[test]
fn the_command_reaches_only_its_own_proxy_listener_and_the_parent_serves_it() {
    let workspace = tempfile::tempdir().unwrap();
    let mut policy = SandboxPolicy::new(
        SandboxMode::WorkspaceWrite,
        vec![workspace.path().to_path_buf()],
    );
    let own = CommandProxy::new().unwrap();
    assert_eq!(own.port(), 3128);
    policy.egress = Egress::Proxy(own.port());
    // Another port on the same loopback first (refused), then the proxy's port.
    let script = "if exec 4<>/dev/tcp/127.0.0.1/3129; then echo other-port-open; fi; \
                  exec 3<>/dev/tcp/127.0.0.1/3128 && echo hello >&3 && read -r line <&3 \
                  && echo \"got $line\"";
    let argv = ["/bin/bash", "-c", script].map(String::from);
    let (mut command, _confinement) =
        command_behind(&argv, workspace.path(), &policy, Some(&own)).unwrap();
    let mut child = command.stdout(Io::Piped).spawn().unwrap();
    let listener = own.listener().unwrap();
    assert_eq!(
        listener.local_addr().unwrap(),
        std::net::SocketAddr::from(([127, 0, 0, 1], 3128))
    );
    let (mut stream, _) = listener.accept().unwrap();
    let mut line = String::new();
    BufReader::new(stream.try_clone().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "hello\n");
    stream.write_all(b"from the proxy\n").unwrap();
    let mut stdout = String::new();
    std::fs::File::from(child.stdout.take().unwrap())
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(stdout, "got from the proxy\n");
    assert!(status.success(), "{status:?}");
}

#[test]
fn an_own_listener_needs_the_proxy_port_as_egress() {
    let workspace = tempfile::tempdir().unwrap();
    let policy = SandboxPolicy::new(
        SandboxMode::WorkspaceWrite,
        vec![workspace.path().to_path_buf()],
    );
    let own = CommandProxy::new().unwrap();
    let argv = ["/bin/true".to_string()];
    let error = command_behind(&argv, workspace.path(), &policy, Some(&own))
        .err()
        .expect("refused");
    assert!(error.to_string().contains("port 3128"), "{error}");
}
