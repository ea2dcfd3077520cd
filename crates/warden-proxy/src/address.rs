//! Which addresses a proxied connection may reach: public ones, plus any the
//! configuration names by IP. The checks see through IPv6 forms that carry an IPv4
//! address (mapped, compatible, NAT64, 6to4, Teredo), so `::ffff:127.0.0.1` is loopback.

use crate::error::ProxyError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restricted {
    Loopback,
    Private,
    LinkLocal,
    Cgnat,
    Multicast,
    Metadata,
    Unspecified,
    Reserved,
    OwnHost,
}

impl Restricted {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Loopback => "a loopback address",
            Self::Private => "a private-network address",
            Self::LinkLocal => "a link-local address",
            Self::Cgnat => "a carrier-grade NAT address",
            Self::Multicast => "a multicast address",
            Self::Metadata => "a cloud metadata address",
            Self::Unspecified => "the unspecified address",
            Self::Reserved => "a reserved or broadcast address",
            Self::OwnHost => "one of this machine's own addresses",
        }
    }
}

/// An address or network (`10.1.2.3`, `10.0.0.0/8`, `fd00::/8`) connections may reach
/// even though it is not public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRule {
    network: IpAddr,
    prefix: u8,
}

impl AddressRule {
    pub fn parse(text: &str) -> Result<Self, ProxyError> {
        let (ip, prefix) = match text.trim().split_once('/') {
            Some((ip, prefix)) => (ip, Some(prefix)),
            None => (text.trim(), None),
        };
        let network: IpAddr = ip
            .trim_matches(|c| c == '[' || c == ']')
            .parse()
            .map_err(|_| {
                ProxyError::Address(format!(
                    "{text:?} is not an IP address or network (`10.0.0.0/8`)"
                ))
            })?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| {
                ProxyError::Address(format!("{text:?}: the prefix length must be 0..={max}"))
            })?,
        };
        if prefix == 0 {
            return Err(ProxyError::Address(format!(
                "{text:?} would allow every address; name the networks instead"
            )));
        }
        Ok(Self { network, prefix })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, canonical(address)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

impl fmt::Display for AddressRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let max = if self.network.is_ipv4() { 32 } else { 128 };
        if self.prefix == max {
            write!(f, "{}", self.network)
        } else {
            write!(f, "{}/{}", self.network, self.prefix)
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[full] & mask == b[full] & mask
    }
}

/// An IPv4-mapped IPv6 address as its IPv4 form; everything else unchanged.
pub fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Why `address` is not public, or None when it is. `own` lists this machine's
/// addresses.
pub fn classify(address: IpAddr, own: &[IpAddr]) -> Option<Restricted> {
    let address = canonical(address);
    let class = match address {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6, own),
    };
    class.or_else(|| own.contains(&address).then_some(Restricted::OwnHost))
}

fn classify_v4(ip: Ipv4Addr) -> Option<Restricted> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200) => {
            Restricted::Metadata
        }
        (0, _) => Restricted::Unspecified,
        (127, _) => Restricted::Loopback,
        (10, _) | (192, 168) => Restricted::Private,
        (172, 16..=31) => Restricted::Private,
        (169, 254) => Restricted::LinkLocal,
        (100, 64..=127) => Restricted::Cgnat,
        (224..=239, _) => Restricted::Multicast,
        (240..=255, _) => Restricted::Reserved,
        // IETF protocol assignments (incl. 192.0.0.0/29 DS-Lite) and benchmarking nets.
        (192, 0) if c == 0 => Restricted::Reserved,
        (198, 18..=19) => Restricted::Reserved,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr, own: &[IpAddr]) -> Option<Restricted> {
    if let Some(embedded) = embedded_v4(ip) {
        // IPv4-compatible (::a.b.c.d) is deprecated and never routed.
        let compatible = ip.segments()[..6].iter().all(|s| *s == 0);
        return classify(IpAddr::V4(embedded), own).or(compatible.then_some(Restricted::Reserved));
    }
    let s = ip.segments();
    Some(match s[0] {
        _ if ip.is_unspecified() => Restricted::Unspecified,
        _ if ip.is_loopback() => Restricted::Loopback,
        _ if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) => Restricted::Metadata,
        0xfc00..=0xfdff => Restricted::Private,
        0xfe80..=0xfebf => Restricted::LinkLocal,
        0xfec0..=0xfeff => Restricted::Private, // deprecated site-local
        0xff00..=0xffff => Restricted::Multicast,
        // Discard-only, documentation and other special-purpose blocks.
        0x0100 if s[1..4] == [0, 0, 0] => Restricted::Reserved,
        0x2001 if s[1] == 0x0db8 => Restricted::Reserved,
        0x0000..=0x00ff => Restricted::Reserved,
        _ => return None,
    })
}

/// The IPv4 address an IPv6 address carries: IPv4-compatible `::a.b.c.d`, NAT64
/// `64:ff9b::/96` and `64:ff9b:1::/48`, 6to4 `2002::/16`, Teredo `2001::/32` (the
/// client address, stored inverted). Mapped addresses are handled by [`canonical`].
pub fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let o = ip.octets();
    let last = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    if s[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_unspecified() && !ip.is_loopback() {
        return Some(last);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) {
        return Some(last);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    if s[0] == 0x2001 && s[1] == 0 {
        return Some(Ipv4Addr::new(!o[12], !o[13], !o[14], !o[15]));
    }
    None
}

/// This machine's own addresses, read when first needed and again when the last reading
/// is older than [`OwnAddresses::FRESH_FOR`]: a proxy that runs for hours sees an
/// address a new interface or VPN brings, and a one-shot `warden exec` whose command
/// never connects never pays for reading them.
#[derive(Default)]
pub(crate) struct OwnAddresses {
    read: std::sync::Mutex<Option<(std::time::Instant, std::sync::Arc<Vec<IpAddr>>)>>,
}

impl OwnAddresses {
    pub(crate) const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(1);

    pub(crate) fn current(&self) -> std::sync::Arc<Vec<IpAddr>> {
        let mut read = self
            .read
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*read {
            Some((at, addresses)) if at.elapsed() < Self::FRESH_FOR => addresses.clone(),
            _ => {
                let addresses = std::sync::Arc::new(own_addresses());
                *read = Some((std::time::Instant::now(), addresses.clone()));
                addresses
            }
        }
    }
}

/// This machine's own addresses (every interface), so a public address that is really
/// the host itself is refused like loopback.
pub fn own_addresses() -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs allocates a list we walk read-only and free below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return out;
    }
    let mut cursor = head;
    while !cursor.is_null() {
        // SAFETY: cursor points into the list getifaddrs returned.
        let entry = unsafe { &*cursor };
        if !entry.ifa_addr.is_null() {
            // SAFETY: ifa_addr points at a sockaddr whose family says its real type.
            let family = i32::from(unsafe { (*entry.ifa_addr).sa_family });
            if family == libc::AF_INET {
                // SAFETY: AF_INET entries are sockaddr_in.
                let sin = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_in) };
                out.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    sin.sin_addr.s_addr,
                ))));
            } else if family == libc::AF_INET6 {
                // SAFETY: AF_INET6 entries are sockaddr_in6.
                let sin6 = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_in6) };
                out.push(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
            }
        }
        cursor = entry.ifa_next;
    }
    // SAFETY: head came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(text: &str) -> Option<Restricted> {
        classify(text.parse().unwrap(), &[])
    }

    #[test]
    fn non_public_v4_ranges_are_restricted() {
        let cases = [
            ("127.0.0.1", Restricted::Loopback),
            ("127.8.9.10", Restricted::Loopback),
            ("10.1.2.3", Restricted::Private),
            ("172.16.0.1", Restricted::Private),
            ("172.31.255.255", Restricted::Private),
            ("192.168.1.1", Restricted::Private),
            ("169.254.1.1", Restricted::LinkLocal),
            ("169.254.169.254", Restricted::Metadata),
            ("100.100.100.200", Restricted::Metadata),
            ("100.64.0.1", Restricted::Cgnat),
            ("100.127.255.254", Restricted::Cgnat),
            ("224.0.0.1", Restricted::Multicast),
            ("0.0.0.0", Restricted::Unspecified),
            ("255.255.255.255", Restricted::Reserved),
            ("198.18.0.1", Restricted::Reserved),
        ];
        for (ip, want) in cases {
            assert_eq!(class(ip), Some(want), "{ip}");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "93.184.216.34",
        ] {
            assert_eq!(class(public), None, "{public}");
        }
    }

    #[test]
    fn ipv6_forms_that_embed_ipv4_are_seen_through() {
        let cases = [
            ("::1", Restricted::Loopback),
            ("::", Restricted::Unspecified),
            ("::ffff:127.0.0.1", Restricted::Loopback),
            ("::ffff:169.254.169.254", Restricted::Metadata),
            ("::127.0.0.1", Restricted::Loopback),
            ("64:ff9b::10.0.0.1", Restricted::Private),
            ("64:ff9b:1::a00:1", Restricted::Private),
            ("2002:7f00:1::", Restricted::Loopback),
            ("2002:a9fe:a9fe::1", Restricted::Metadata),
            // Teredo: client 127.0.0.1 stored inverted (80ff:fffe).
            ("2001:0:4136:e378:8000:63bf:80ff:fffe", Restricted::Loopback),
            ("fd00:ec2::254", Restricted::Metadata),
            ("fd12:3456::1", Restricted::Private),
            ("fe80::1", Restricted::LinkLocal),
            ("ff02::1", Restricted::Multicast),
            ("::8.8.8.8", Restricted::Reserved),
            ("2001:db8::1", Restricted::Reserved),
        ];
        for (ip, want) in cases {
            assert_eq!(class(ip), Some(want), "{ip}");
        }
        for public in ["2606:4700::1111", "2002:0808:0808::1", "64:ff9b::8.8.8.8"] {
            assert_eq!(class(public), None, "{public}");
        }
    }

    #[test]
    fn the_hosts_own_addresses_are_restricted() {
        let own: Vec<IpAddr> = vec!["203.0.114.7".parse().unwrap()];
        assert_eq!(
            classify("203.0.114.7".parse().unwrap(), &own),
            Some(Restricted::OwnHost)
        );
        assert_eq!(
            classify("::ffff:203.0.114.7".parse().unwrap(), &own),
            Some(Restricted::OwnHost)
        );
        assert!(own_addresses().iter().any(|a| a.is_loopback()));
    }

    #[test]
    fn the_hosts_addresses_are_read_when_needed_and_read_again_once_stale() {
        let own = OwnAddresses::default();
        assert!(own.read.lock().unwrap().is_none(), "nothing read up front");
        let first = own.current();
        assert!(first.iter().any(|a| a.is_loopback()));
        assert!(
            std::sync::Arc::ptr_eq(&first, &own.current()),
            "fresh: kept"
        );
        // Age the reading past FRESH_FOR: the next use reads the interfaces again.
        if let Some((at, _)) = own.read.lock().unwrap().as_mut() {
            *at -= OwnAddresses::FRESH_FOR;
        }
        let again = own.current();
        assert!(!std::sync::Arc::ptr_eq(&first, &again), "stale: read again");
        assert_eq!(*first, *again);
    }

    #[test]
    fn address_rules_match_networks_and_refuse_everything() {
        let rule = AddressRule::parse("10.0.0.0/8").unwrap();
        assert!(rule.contains("10.9.8.7".parse().unwrap()));
        assert!(rule.contains("::ffff:10.9.8.7".parse().unwrap()));
        assert!(!rule.contains("11.0.0.1".parse().unwrap()));
        let one = AddressRule::parse("127.0.0.2").unwrap();
        assert!(one.contains("127.0.0.2".parse().unwrap()));
        assert!(!one.contains("127.0.0.1".parse().unwrap()));
        assert_eq!(one.to_string(), "127.0.0.2");
        let v6 = AddressRule::parse("fd00::/8").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(AddressRule::parse("0.0.0.0/0").is_err());
        assert!(AddressRule::parse("10.0.0.0/33").is_err());
        assert!(AddressRule::parse("example.com").is_err());
    }
}
