//! Where a merchant's webhooks may go. A webhook makes this service send requests to an address
//! a merchant chose, so the address is checked twice: when the endpoint is set (here, on its
//! text) and again at every delivery (on the addresses its name resolves to, with
//! [`check_resolved`]), so that neither a literal address nor a name that resolves inside the
//! service's network can turn the service against that network: loopback, private and
//! link-local ranges (169.254.169.254 is the instance metadata service), and every other range
//! that is not public unicast.
//!
//! Only `https://` is accepted: a webhook carries payment events, and its signature proves who
//! sent it, not that nobody read it on the way. The one exception is a developer's own machine
//! ([`DestinationPolicy::local_development`]): `scripts/dev` delivers to a receiver on
//! 127.0.0.1 over plain `http://`, as a developer runs one before deploying.

use crate::domain::error::ApiError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The longest endpoint URL accepted, in bytes (UTF-8).
pub const MAX_URL_LEN: usize = 2048;

/// What a deployment lets endpoints point at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DestinationPolicy {
    /// Lets loopback addresses through (and only those): for tests, whose receivers listen on
    /// 127.0.0.1. Never set in a deployment.
    pub allow_loopback_for_tests: bool,
    /// Lets `http://` URLs through when their host is a loopback address written out
    /// (`127.0.0.1`, `[::1]`), and no other plain-HTTP URL: for `scripts/dev`, whose developer
    /// runs a receiver without TLS on their own machine. Lets loopback through as the setting
    /// above does. Never set in a deployment.
    pub allow_plain_http_on_loopback: bool,
}

impl DestinationPolicy {
    /// A deployment's: `https://` to public addresses only (the default).
    pub const DEPLOYED: Self = Self {
        allow_loopback_for_tests: false,
        allow_plain_http_on_loopback: false,
    };

    /// `scripts/dev`'s, and only there: the deployed rules, plus loopback addresses over
    /// `https://` or plain `http://` (a developer's receiver on 127.0.0.1). Nothing else that
    /// is not public gets through.
    pub const fn local_development() -> Self {
        Self {
            allow_loopback_for_tests: true,
            allow_plain_http_on_loopback: true,
        }
    }

    fn allows_loopback(self) -> bool {
        self.allow_loopback_for_tests || self.allow_plain_http_on_loopback
    }
}

/// A checked endpoint: an `https://` URL whose host is a DNS name or a public address (or, as
/// the policy allows, a loopback address, and then possibly `http://`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The URL as given, trimmed.
    pub url: String,
    /// `https://`; `false` only for a plain `http://` URL to loopback that the policy allowed.
    pub tls: bool,
    /// The host: a DNS name in lowercase, or an address without brackets.
    pub host: String,
    /// The port, 443 unless the URL names another.
    pub port: u16,
}

fn refuse(why: &str) -> ApiError {
    ApiError::BadRequest(format!("url {why}"))
}

/// Checks an endpoint URL's text: `https://`, a host and no credentials, and a host that is
/// either a DNS name or an address the policy allows. A name is only checked for its form here;
/// [`check_resolved`] checks what it resolves to at each delivery. `http://` is taken only when
/// the policy allows it, and only for a loopback address.
pub fn parse_endpoint(raw: &str, policy: DestinationPolicy) -> Result<Endpoint, ApiError> {
    let url = raw.trim();
    if url.len() > MAX_URL_LEN {
        // Bytes, as sent: a non-ASCII path counts by its UTF-8 (the address is what is sent).
        return Err(refuse(&format!(
            "must be at most {MAX_URL_LEN} bytes (UTF-8)"
        )));
    }
    let scheme = |prefix: &str| {
        url.get(..prefix.len())
            .filter(|scheme| scheme.eq_ignore_ascii_case(prefix))
            .map(|_| &url[prefix.len()..])
    };
    let (rest, tls) = match (scheme("https://"), scheme("http://")) {
        (Some(rest), _) => (rest, true),
        (None, Some(rest)) if policy.allow_plain_http_on_loopback => (rest, false),
        _ => return Err(refuse("must start with https://")),
    };
    if url.chars().any(|c| c.is_ascii_control() || c == ' ') {
        return Err(refuse("must not contain spaces or control characters"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(refuse("must not carry a user name or password"));
    }
    let (host, port) = split_host_port(authority, if tls { 443 } else { 80 })?;
    if host.is_empty() {
        return Err(refuse("must name a host"));
    }
    let host = host.to_ascii_lowercase();
    if !tls && !host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) {
        return Err(refuse(
            "must start with https:// (http:// is only for 127.0.0.1 or [::1], locally)",
        ));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        if !allowed(ip, policy) {
            return Err(refuse(&format!(
                "must not point at a loopback, private, link-local or other non-public address ({ip})"
            )));
        }
    } else {
        check_name(&host)?;
    }
    Ok(Endpoint {
        url: url.to_owned(),
        tls,
        host,
        port,
    })
}

/// `host[:port]` or `[v6]:port`, the port defaulting to `default_port`.
fn split_host_port(authority: &str, default_port: u16) -> Result<(&str, u16), ApiError> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (v6, after) = bracketed
            .split_once(']')
            .ok_or_else(|| refuse("has an unclosed [ in its host"))?;
        if v6.parse::<Ipv6Addr>().is_err() {
            return Err(refuse("has a malformed IPv6 address"));
        }
        match after {
            "" => (v6, None),
            _ => (
                v6,
                Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| refuse("has text after its IPv6 address"))?,
                ),
            ),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => default_port,
        Some(text) => text
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0 && text.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| refuse("has an invalid port"))?,
    };
    Ok((host, port))
}

/// A DNS name in its usual form. Its last label must not be numeric or hex: resolvers read
/// "127.1", "2130706433" or "0x7f.1" as addresses, which would slip past the address check.
fn check_name(host: &str) -> Result<(), ApiError> {
    let name = host.strip_suffix('.').unwrap_or(host);
    let valid_label = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if name.len() > 253 || !name.split('.').all(valid_label) {
        return Err(refuse("must name a valid host"));
    }
    let last = name.rsplit('.').next().unwrap_or("");
    if last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x") {
        return Err(refuse("must name a valid host"));
    }
    if name == "localhost" || name.ends_with(".localhost") {
        return Err(refuse(
            "must not point at a loopback, private, link-local or other non-public address (localhost)",
        ));
    }
    Ok(())
}

/// The delivery-time check: every address the endpoint's name resolved to must be allowed (one
/// private answer among public ones is refused too: the connection could pick it).
pub fn check_resolved(addresses: &[IpAddr], policy: DestinationPolicy) -> Result<(), IpAddr> {
    match addresses.iter().find(|ip| !allowed(**ip, policy)) {
        Some(ip) => Err(*ip),
        None if addresses.is_empty() => Err(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        None => Ok(()),
    }
}

fn allowed(ip: IpAddr, policy: DestinationPolicy) -> bool {
    is_public(ip) || (policy.allows_loopback() && ip.is_loopback())
}

/// Whether `ip` is public unicast: reachable on the internet and not special in any way.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0 // "this network"
        || a == 10 // private
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || a == 127 // loopback
        || (a == 169 && b == 254) // link-local, instance metadata
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168) // private
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    match s {
        // IPv4-mapped: judge the IPv4 address it carries.
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => is_public_v4(embedded_v4(hi, lo)),
        // NAT64's well-known prefix: likewise.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => is_public_v4(embedded_v4(hi, lo)),
        // 6to4: the IPv4 address is in the second and third segments.
        [0x2002, hi, lo, ..] => is_public_v4(embedded_v4(hi, lo)),
        _ => {
            // Global unicast is 2000::/3; within it, the special-purpose blocks are refused.
            (s[0] & 0xe000) == 0x2000
                && !(s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments, Teredo
                && !(s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                && !(s[0] == 0x3fff && s[1] < 0x1000) // documentation (RFC 9637)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: DestinationPolicy = DestinationPolicy::DEPLOYED;
    const TESTS: DestinationPolicy = DestinationPolicy {
        allow_loopback_for_tests: true,
        allow_plain_http_on_loopback: false,
    };
    const LOCAL: DestinationPolicy = DestinationPolicy::local_development();

    fn refused(url: &str, policy: DestinationPolicy) -> String {
        match parse_endpoint(url, policy) {
            Err(ApiError::BadRequest(message)) => message,
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn https_names_and_public_addresses_are_accepted_with_their_ports() {
        let hook = parse_endpoint(" https://Shop.Example.co.th/hooks/omise?x=1 ", STRICT).unwrap();
        assert_eq!(
            (hook.host.as_str(), hook.port, hook.url.as_str()),
            (
                "shop.example.co.th",
                443,
                "https://Shop.Example.co.th/hooks/omise?x=1"
            )
        );
        assert_eq!(
            parse_endpoint("https://8.8.8.8:8443/h", STRICT)
                .unwrap()
                .port,
            8443
        );
        assert_eq!(
            parse_endpoint("https://[2606:4700:4700::1111]/h", STRICT)
                .unwrap()
                .host,
            "2606:4700:4700::1111"
        );
    }

    #[test]
    fn only_https_with_a_host_and_no_credentials() {
        for (url, why) in [
            ("http://shop.example.com/h", "must start with https://"),
            ("ftp://shop.example.com/h", "must start with https://"),
            ("https:///h", "must name a host"),
            (
                "https://user:pw@shop.example.com/h",
                "user name or password",
            ),
            ("https://shop.example.com:0/h", "invalid port"),
            ("https://shop.example.com:99999/h", "invalid port"),
            ("https://shop.example.com:+443/h", "invalid port"),
            ("https://shop example.com/h", "spaces"),
            ("https://shop_example.com/h", "valid host"),
            ("https://-shop.example.com/h", "valid host"),
            ("https://[::1/h", "unclosed ["),
        ] {
            let message = refused(url, STRICT);
            assert!(message.starts_with("url "), "{url}: {message}");
            assert!(message.contains(why), "{url}: {message}");
        }
        assert!(
            refused(
                &format!("https://a.com/{}", "x".repeat(MAX_URL_LEN)),
                STRICT
            )
            .contains("2048")
        );
    }

    #[test]
    fn loopback_private_link_local_and_metadata_addresses_are_refused() {
        for url in [
            "https://127.0.0.1/h",
            "https://127.8.9.10/h",
            "https://10.0.0.1/h",
            "https://172.16.0.1/h",
            "https://172.31.255.255/h",
            "https://192.168.1.1/h",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.64.0.1/h",
            "https://0.0.0.0/h",
            "https://255.255.255.255/h",
            "https://224.0.0.1/h",
            "https://198.18.0.1/h",
            "https://192.0.2.1/h",
            "https://[::1]/h",
            "https://[::]/h",
            "https://[::ffff:127.0.0.1]/h",
            "https://[::ffff:169.254.169.254]/h",
            "https://[64:ff9b::a00:1]/h",
            "https://[2002:c0a8:101::1]/h",
            "https://[fd00:ec2::254]/h",
            "https://[fe80::1]/h",
            "https://[ff02::1]/h",
            "https://[2001:db8::1]/h",
            "https://localhost/h",
            "https://api.localhost/h",
        ] {
            let message = refused(url, STRICT);
            assert!(message.contains("non-public address"), "{url}: {message}");
        }
    }

    #[test]
    fn names_a_resolver_would_read_as_addresses_are_refused() {
        for url in [
            "https://2130706433/h",
            "https://127.1/h",
            "https://0177.0.0.1/h",
            "https://0x7f.0.0.1/h",
            "https://0x7f000001/h",
        ] {
            assert!(refused(url, STRICT).contains("valid host"), "{url}");
        }
    }

    #[test]
    fn the_test_setting_lets_loopback_through_and_nothing_else() {
        assert!(parse_endpoint("https://127.0.0.1:8443/h", TESTS).is_ok());
        assert!(parse_endpoint("https://[::1]:8443/h", TESTS).is_ok());
        assert!(refused("https://10.0.0.1/h", TESTS).contains("non-public"));
        assert!(refused("https://169.254.169.254/h", TESTS).contains("non-public"));
    }

    #[test]
    fn the_local_setting_lets_plain_http_through_to_loopback_addresses_only() {
        let hook = parse_endpoint("http://127.0.0.1:4000/hook", LOCAL).unwrap();
        assert_eq!(
            (hook.tls, hook.host.as_str(), hook.port),
            (false, "127.0.0.1", 4000)
        );
        assert_eq!(parse_endpoint("HTTP://[::1]/h", LOCAL).unwrap().port, 80);
        assert!(
            parse_endpoint("https://127.0.0.1:8443/h", LOCAL)
                .unwrap()
                .tls
        );
        assert!(parse_endpoint("https://shop.example.com/h", LOCAL).is_ok());
        for url in [
            "http://shop.example.com/h",
            "http://8.8.8.8/h",
            "http://localhost:4000/h",
            "http://10.0.0.1/h",
        ] {
            assert!(
                refused(url, LOCAL).contains("must start with https://"),
                "{url}"
            );
        }
        assert!(refused("https://10.0.0.1/h", LOCAL).contains("non-public"));
        assert!(refused("https://169.254.169.254/h", LOCAL).contains("non-public"));
        // Neither the deployed default nor the tests' setting takes plain HTTP at all.
        for policy in [STRICT, TESTS, DestinationPolicy::default()] {
            assert!(refused("http://127.0.0.1:4000/h", policy).contains("https://"));
        }
        assert_eq!(DestinationPolicy::default(), DestinationPolicy::DEPLOYED);
        assert_eq!(
            check_resolved(&["127.0.0.1".parse().unwrap()], LOCAL),
            Ok(())
        );
    }

    #[test]
    fn every_resolved_address_must_be_allowed() {
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        let metadata: IpAddr = "169.254.169.254".parse().unwrap();
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(check_resolved(&[public], STRICT), Ok(()));
        assert_eq!(check_resolved(&[public, metadata], STRICT), Err(metadata));
        assert_eq!(check_resolved(&[loopback], STRICT), Err(loopback));
        assert_eq!(check_resolved(&[loopback], TESTS), Ok(()));
        assert!(check_resolved(&[], STRICT).is_err(), "no address at all");
    }

    #[test]
    fn public_ranges_stay_public_next_to_the_special_ones() {
        for ip in [
            "1.1.1.1",
            "172.15.255.255",
            "172.32.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "169.253.0.1",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700::1",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "2002:808:808::1",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
