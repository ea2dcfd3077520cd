//! Which program is on the other end of a client connection, for asks ("curl wants…"):
//! find the client socket in the command's network namespace (`/proc/PID/net/tcp*`),
//! then the process holding it. Only used when a person is about to be asked, since it
//! walks `/proc`.

use std::net::{IpAddr, SocketAddr};

/// The name (`comm`) of the process whose socket is `peer`. `pid` is a process in the
/// same network namespace as the client (the sandboxed command), if known.
pub(crate) fn find(peer: SocketAddr, pid: Option<u32>) -> Option<String> {
    let dir = match pid {
        Some(pid) => format!("/proc/{pid}/net"),
        None => "/proc/self/net".to_string(),
    };
    let wanted = socket_key(peer);
    let inode = ["tcp", "tcp6"].iter().find_map(|file| {
        let text = std::fs::read_to_string(format!("{dir}/{file}")).ok()?;
        text.lines().skip(1).find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.get(1)? == &wanted.as_str())
                .then(|| fields.get(9).map(|s| s.to_string()))
                .flatten()
        })
    })?;
    let link = format!("socket:[{inode}]");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == link.as_str())
        });
        if holds {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            return Some(comm.trim().to_string());
        }
    }
    None
}

/// `/proc/net/tcp*`'s spelling of a local address: each 32-bit word of the address in
/// host byte order as hex, then the port.
fn socket_key(addr: SocketAddr) -> String {
    let words: Vec<String> = match addr.ip() {
        IpAddr::V4(v4) => vec![format!("{:08X}", u32::from_ne_bytes(v4.octets()))],
        IpAddr::V6(v6) => v6
            .octets()
            .chunks(4)
            .map(|c| format!("{:08X}", u32::from_ne_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
    };
    format!("{}:{:04X}", words.concat(), addr.port())
}

/// The product in a `User-Agent` (`curl/8.1.2` → `curl`), a fallback name.
pub(crate) fn from_user_agent(agent: &str) -> Option<String> {
    let product = agent.split([' ', '/']).next()?.trim();
    (!product.is_empty()).then(|| product.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_this_process_behind_a_loopback_connection() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, peer) = listener.accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        let me = std::fs::read_to_string("/proc/self/comm").unwrap();
        assert_eq!(find(peer, None).as_deref(), Some(me.trim()));
        assert_eq!(
            find(peer, Some(std::process::id())).as_deref(),
            Some(me.trim())
        );
    }

    #[test]
    fn user_agent_products() {
        assert_eq!(from_user_agent("curl/8.1.2").as_deref(), Some("curl"));
        assert_eq!(from_user_agent("git/2.39.5").as_deref(), Some("git"));
        assert_eq!(
            from_user_agent("Python-urllib/3.11").as_deref(),
            Some("Python-urllib")
        );
        assert_eq!(from_user_agent(""), None);
    }
}
