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
