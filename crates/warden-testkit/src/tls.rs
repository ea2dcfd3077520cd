//! Test certificates made by the `openssl` command: a CA, a server certificate for
//! 127.0.0.1 and a client certificate, as PEM files in a folder.

use std::path::Path;
use std::process::Command;

/// Write `ca.pem`/`ca.key`, `server.pem`/`server.key` (for IP 127.0.0.1, signed by the
/// CA) and `client.pem`/`client.key` (client authentication) into `dir`.
pub fn certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run openssl (scripts/setup.sh installs it): {e}"));
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509", "-days", "2", "-subj", "/CN=Warden test CA"][..],
            &key,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign",
            ],
        ]
        .concat(),
    );
    for (name, usage) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        ),
        ("client", "extendedKeyUsage=clientAuth\n"),
    ] {
        let write = std::fs::write(dir.join(format!("{name}.ext")), usage);
        write.unwrap_or_else(|e| panic!("cannot write {name}.ext: {e}"));
        let (keyout, csr) = (format!("{name}.key"), format!("{name}.csr"));
        let subject = format!("/CN=warden-{name}");
        openssl(
            &[
                &["req", "-subj", subject.as_str()][..],
                &key,
                &["-keyout", &keyout, "-out", &csr],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.pem"),
        ]);
    }
}

/// Serves a folder over HTTPS on 127.0.0.1 with the test server certificate.
const HTTPS_SERVER: &str = r#"
import functools, http.server, ssl, sys
folder, cert, key = sys.argv[1:4]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=folder)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// A real HTTPS file server (Python's) for `folder`, with the server certificate that
/// `certificates(certs)` wrote; stopped when dropped.
pub struct HttpsServer {
    child: std::process::Child,
    pub port: String,
}

impl HttpsServer {
    pub fn start(folder: &Path, certs: &Path) -> Self {
        let (child, port) = crate::start_with_first_line(
            Command::new("python3")
                .args(["-c", HTTPS_SERVER])
                .arg(folder)
                .arg(certs.join("server.pem"))
                .arg(certs.join("server.key"))
                .stderr(std::process::Stdio::null()),
        );
        Self { child, port }
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
