//! The address a request comes from. That is the peer of its connection,
//! unless the peer is a reverse proxy that `serve --trusted-proxy` names.
//! Then it is the client that the proxy names in `X-Forwarded-For`. The
//! failed-login throttle counts by this address, and the log names it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use hyper::header::HeaderMap;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The address that a request comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress {
    /// The peer of the connection.
    peer: SocketAddr,
    /// The client that a trusted proxy forwarded the request for.
    forwarded_for: Option<IpAddr>,
}

impl ClientAddress {
    /// Returns the address of a request that `peer` sent. When `peer` is one
    /// of `trusted_proxies`, the client is read from `X-Forwarded-For`.
    pub fn of(peer: SocketAddr, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> ClientAddress {
        let forwarded_for = if trusted_proxies.contains(&peer.ip().to_canonical()) {
            forwarded_client(headers, trusted_proxies)
        } else {
            None
        };
        ClientAddress {
            peer,
            forwarded_for,
        }
    }

    /// Returns the client's IP address: the forwarded one if there is one,
    /// else the peer's.
    pub fn ip(&self) -> IpAddr {
        self.forwarded_for.unwrap_or_else(|| self.peer.ip())
    }
}

impl fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.forwarded_for {
            Some(client) => write!(f, "{client} via {}", self.peer),
            None => write!(f, "{}", self.peer),
        }
    }
}

/// Returns the client that the trusted proxies name in `X-Forwarded-For`.
///
/// Each proxy appends the address it received the request from, so the list
/// is read from its end. Addresses of trusted proxies are skipped, and the
/// first other one is the client. Everything before it came from the client
/// and could be forged, so it is not read at all: bytes there that are not
/// ASCII change nothing. A hop that is not an IP address (such as `unknown`)
/// ends the search with `None`, and so does a list of trusted proxies only:
/// the request then counts as the peer's own.
fn forwarded_client(headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    // Several header lines form one list, in order.
    for value in headers.get_all(X_FORWARDED_FOR).iter().rev() {
        for hop in value.as_bytes().rsplit(|byte| *byte == b',') {
            let hop = hop.trim_ascii();
            if hop.is_empty() {
                continue;
            }
            let address = parse_hop(hop)?.to_canonical();
            if !trusted_proxies.contains(&address) {
                return Some(address);
            }
        }
    }
    None
}

/// Parses one hop of `X-Forwarded-For`: an IP address, with or without a
/// port, and an IPv6 address in brackets.
fn parse_hop(hop: &[u8]) -> Option<IpAddr> {
    let hop = std::str::from_utf8(hop).ok()?;
    if let Ok(address) = hop.parse::<IpAddr>() {
        return Some(address);
    }
    if let Ok(address) = hop.parse::<SocketAddr>() {
        return Some(address.ip());
    }
    hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    const PROXY: &str = "127.0.0.1:40000";

    fn address(peer: &str, forwarded: &[&str], trusted: &[&str]) -> IpAddr {
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append(
                X_FORWARDED_FOR,
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        let trusted: Vec<IpAddr> = trusted
            .iter()
            .map(|text| text.parse().expect("trusted address"))
            .collect();
        let peer = peer.parse().expect("peer address");
        ClientAddress::of(peer, &headers, &trusted).ip()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn untrusted_peer_ignores_the_header() {
        assert_eq!(address(PROXY, &["203.0.113.7"], &[]), ip("127.0.0.1"));
    }

    #[test]
    fn trusted_peer_gives_the_forwarded_client() {
        assert_eq!(
            address(PROXY, &["203.0.113.7"], &["127.0.0.1"]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn last_untrusted_hop_beats_forged_ones() {
        assert_eq!(
            address(PROXY, &["198.51.100.1, 203.0.113.7"], &["127.0.0.1"]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn trusted_hops_are_skipped() {
        assert_eq!(
            address(
                PROXY,
                &["203.0.113.7, 10.0.0.2"],
                &["127.0.0.1", "10.0.0.2"]
            ),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn header_lines_form_one_list() {
        assert_eq!(
            address(PROXY, &["198.51.100.1", "203.0.113.7"], &["127.0.0.1"]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn missing_header_counts_as_the_proxy() {
        assert_eq!(address(PROXY, &[], &["127.0.0.1"]), ip("127.0.0.1"));
    }

    #[test]
    fn unknown_hop_counts_as_the_proxy() {
        assert_eq!(
            address(PROXY, &["203.0.113.7, unknown"], &["127.0.0.1"]),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn bytes_before_the_client_are_not_read() {
        let mut headers = HeaderMap::new();
        headers.insert(
            X_FORWARDED_FOR,
            HeaderValue::from_bytes(b"\xff\xfe, 203.0.113.7").expect("header value"),
        );
        let client = ClientAddress::of(PROXY.parse().expect("peer"), &headers, &[ip("127.0.0.1")]);
        assert_eq!(client.ip(), ip("203.0.113.7"));
    }

    #[test]
    fn only_trusted_hops_count_as_the_proxy() {
        assert_eq!(
            address(PROXY, &["127.0.0.1"], &["127.0.0.1"]),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn empty_hops_are_skipped() {
        assert_eq!(
            address(PROXY, &["203.0.113.7, ,"], &["127.0.0.1"]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn hop_with_port_gives_its_address() {
        assert_eq!(
            address(PROXY, &["203.0.113.7:51000"], &["127.0.0.1"]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn bracketed_ipv6_hop_gives_its_address() {
        assert_eq!(
            address(PROXY, &["[2001:db8::7]"], &["127.0.0.1"]),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn bracketed_ipv6_hop_with_port_gives_its_address() {
        assert_eq!(
            address(PROXY, &["[2001:db8::7]:443"], &["127.0.0.1"]),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn ipv4_mapped_peer_is_trusted() {
        assert_eq!(
            address("[::ffff:127.0.0.1]:40000", &["203.0.113.7"], &["127.0.0.1"]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn ipv4_mapped_hop_reads_as_ipv4() {
        assert_eq!(
            address(PROXY, &["::ffff:203.0.113.7"], &["127.0.0.1"]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn forwarded_client_is_shown_with_the_proxy() {
        let mut headers = HeaderMap::new();
        headers.insert(X_FORWARDED_FOR, HeaderValue::from_static("203.0.113.7"));
        let client = ClientAddress::of(PROXY.parse().expect("peer"), &headers, &[ip("127.0.0.1")]);
        assert_eq!(client.to_string(), "203.0.113.7 via 127.0.0.1:40000");
    }

    #[test]
    fn direct_client_is_shown_as_the_peer() {
        let client = ClientAddress::of(PROXY.parse().expect("peer"), &HeaderMap::new(), &[]);
        assert_eq!(client.to_string(), "127.0.0.1:40000");
    }
}
