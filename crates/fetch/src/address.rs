//! Safe by default (no SSRF): unless `allow_private_networks` is set, no request reaches a loopback,
//! private, link-local, multicast, unspecified or otherwise non-public address.
//!
//! Two ways lead to an address, and both are checked:
//! - a host name goes through [`PublicOnly`], the client's DNS resolver: it drops every non-public
//!   address from the answer, and the addresses it hands back are the very ones the connector dials,
//!   so there is no window for a second, different answer (DNS rebinding);
//! - an IP-literal host (`http://127.0.0.1/`, `http://[::1]/`, `http://2130706433/`) is never
//!   resolved by the client, so [`check_url`] refuses it before the request is built.
//!
//! Every fetch goes through both, redirect hops (each is a fetch of its own) and robots.txt included.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Why a fetch was refused: the host is, or resolves only to, addresses that are not public.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{host} {what}")]
pub(crate) struct Refused {
    host: String,
    /// "is a loopback address", "resolves only to non-public addresses, such as a private address (10.0.0.7)".
    what: String,
}

/// The kind of a non-public address; `None` for one that may be crawled.
pub(crate) fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_unspecified() => "an unspecified",
        (0, ..) => "a \"this network\"",
        (127, ..) => "a loopback",
        (10, ..) | (172, 16..=31, _) | (192, 168, _) => "a private",
        // Carrier-grade NAT (RFC 6598): the provider's private network.
        (100, 64..=127, _) => "a shared (carrier-grade NAT)",
        (169, 254, _) => "a link-local",
        (224..=239, ..) => "a multicast",
        (255, 255, 255) if ip.is_broadcast() => "a broadcast",
        (240..=255, ..) => "a reserved",
        (192, 0, 0) => "an IETF protocol assignment",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation",
        (198, 18..=19, _) => "a benchmarking",
        _ => return None,
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    // An IPv4 address inside an IPv6 one reaches that IPv4 address: judge it as such.
    if let Some(v4) = embedded_v4(ip) {
        return non_public_v4(v4);
    }
    Some(match segments[0] {
        _ if ip.is_unspecified() => "an unspecified",
        _ if ip.is_loopback() => "a loopback",
        0xfe80..=0xfebf => "a link-local",
        // Deprecated site-local (RFC 3879), still routed privately where it is used.
        0xfec0..=0xfeff => "a site-local",
        0xfc00..=0xfdff => "a private (unique local)",
        0xff00..=0xffff => "a multicast",
        // Discard-only prefix (RFC 6666).
        0x0100 if segments[1..4] == [0, 0, 0] => "a discard",
        0x2001 if segments[1] == 0x0db8 => "a documentation",
        _ => return None,
    })
}

/// The IPv4 address an IPv6 address stands for: v4-mapped (`::ffff:a.b.c.d`), v4-compatible
/// (`::a.b.c.d`, deprecated), NAT64 (`64:ff9b::a.b.c.d`) and 6to4 (`2002:aabb:ccdd::`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, ..] => Some(low),
        // `::` and `::1` are IPv6's own unspecified and loopback addresses.
        [0, 0, 0, 0, 0, 0, ..] if !ip.is_unspecified() && !ip.is_loopback() => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, ..] => Some(low),
        [0x2002, high, low16, ..] => {
            Some(Ipv4Addr::new((high >> 8) as u8, high as u8, (low16 >> 8) as u8, low16 as u8))
        }
        _ => None,
    }
}

/// Refuses a URL whose host is an IP literal that is not public. Host names are left to the resolver.
pub(crate) fn check_url(url: &Url) -> Result<(), Refused> {
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(Host::Domain(_)) | None => return Ok(()),
    };
    match non_public(ip) {
        Some(kind) => {
            Err(Refused { host: url.host_str().unwrap_or_default().to_owned(), what: format!("is {kind} address") })
        }
        None => Ok(()),
    }
}

/// The client's DNS resolver when private networks are not allowed: the system resolver's answer with
/// every non-public address taken out, and an error ([`Refused`]) when none is left.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // The port is set by the connector; 0 stands for "the scheme's".
            let answer: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (public, refused) = filter(answer);
            if public.is_empty() {
                let what = match refused {
                    Some((ip, kind)) => format!("resolves only to non-public addresses, such as {kind} address ({ip})"),
                    None => "resolves to no address".to_owned(),
                };
                return Err(Box::new(Refused { host, what }) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// The public addresses of an answer, and the first refused one with its kind.
fn filter(answer: Vec<SocketAddr>) -> (Vec<SocketAddr>, Option<(IpAddr, &'static str)>) {
    let mut refused = None;
    let public = answer
        .into_iter()
        .filter(|addr| match non_public(addr.ip()) {
            Some(kind) => {
                refused.get_or_insert((addr.ip(), kind));
                false
            }
            None => true,
        })
        .collect();
    (public, refused)
}

/// The [`Refused`] somewhere in an error's chain of causes.
pub(crate) fn refusal_in<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
    let mut cause = Some(e);
    while let Some(error) = cause {
        if let Some(refused) = error.downcast_ref::<Refused>() {
            return Some(refused);
        }
        cause = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn kind(ip: &str) -> Option<&'static str> {
        non_public(ip.parse().unwrap())
    }

    #[test]
    fn non_public_addresses_are_named() {
        for (ip, expected) in [
            ("0.0.0.0", "an unspecified"),
            ("0.1.2.3", "a \"this network\""),
            ("127.0.0.1", "a loopback"),
            ("127.255.0.9", "a loopback"),
            ("10.1.2.3", "a private"),
            ("172.16.0.1", "a private"),
            ("172.31.255.255", "a private"),
            ("192.168.1.1", "a private"),
            ("100.64.0.1", "a shared (carrier-grade NAT)"),
            ("169.254.169.254", "a link-local"),
            ("224.0.0.1", "a multicast"),
            ("239.255.255.250", "a multicast"),
            ("255.255.255.255", "a broadcast"),
            ("240.0.0.1", "a reserved"),
            ("192.0.0.8", "an IETF protocol assignment"),
            ("192.0.2.1", "a documentation"),
            ("198.18.0.1", "a benchmarking"),
            ("::", "an unspecified"),
            ("::1", "a loopback"),
            ("fe80::1", "a link-local"),
            ("fc00::1", "a private (unique local)"),
            ("fd12:3456::1", "a private (unique local)"),
            ("fec0::1", "a site-local"),
            ("ff02::1", "a multicast"),
            ("100::1", "a discard"),
            ("2001:db8::1", "a documentation"),
            // IPv4 inside IPv6 is judged as the IPv4 address it reaches.
            ("::ffff:127.0.0.1", "a loopback"),
            ("::ffff:10.0.0.1", "a private"),
            ("::ffff:169.254.169.254", "a link-local"),
            ("::127.0.0.1", "a loopback"),
            ("64:ff9b::192.168.0.1", "a private"),
            ("2002:7f00:1::", "a loopback"),
            ("2002:a9fe:a9fe::1", "a link-local"),
        ] {
            assert_eq!(kind(ip), Some(expected), "{ip}");
        }
        for ip in [
            "1.1.1.1",
            "93.184.215.14",
            "172.32.0.1",
            "100.128.0.1",
            "192.0.3.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(kind(ip), None, "{ip}");
        }
    }

    #[test]
    fn ip_literal_hosts_are_checked() {
        let check = |u: &str| check_url(&Url::parse(u).unwrap()).map_err(|e| e.to_string());
        assert_eq!(check("http://127.0.0.1:8080/x"), Err("127.0.0.1 is a loopback address".to_owned()));
        // The URL parser reads every IPv4 spelling as the address it is.
        assert_eq!(check("http://2130706433/"), Err("127.0.0.1 is a loopback address".to_owned()));
        assert_eq!(check("http://0x7f.1/"), Err("127.0.0.1 is a loopback address".to_owned()));
        assert_eq!(check("http://[::ffff:7f00:1]/"), Err("[::ffff:7f00:1] is a loopback address".to_owned()));
        assert_eq!(check("http://[fe80::1]/"), Err("[fe80::1] is a link-local address".to_owned()));
        assert_eq!(check("http://0.0.0.0/"), Err("0.0.0.0 is an unspecified address".to_owned()));
        assert_eq!(check("http://8.8.8.8/"), Ok(()));
        assert_eq!(check("http://example.com/"), Ok(()));
    }

    #[test]
    fn an_answer_keeps_only_its_public_addresses() {
        let addr = |s: &str| SocketAddr::new(s.parse().unwrap(), 0);
        let (public, refused) = filter(vec![addr("127.0.0.1"), addr("8.8.8.8"), addr("::1")]);
        assert_eq!(public, [addr("8.8.8.8")]);
        assert_eq!(refused, Some(("127.0.0.1".parse().unwrap(), "a loopback")));
        let (public, refused) = filter(vec![addr("10.0.0.1")]);
        assert!(public.is_empty());
        assert_eq!(refused, Some(("10.0.0.1".parse().unwrap(), "a private")));
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_of_loopback_only() {
        let name: Name = "localhost".parse().unwrap();
        let Err(error) = PublicOnly.resolve(name).await else { panic!("localhost must be refused") };
        let refused = refusal_in(error.as_ref()).unwrap();
        assert_eq!(refused.host, "localhost");
        assert!(refused.what.starts_with("resolves only to non-public addresses, such as a loopback address"));
    }
}
