//! Which addresses a webhook may be sent to. A partner names the URL, so without a rule it could
//! make the service call its own loopback, the private network it runs in, or a cloud metadata
//! service (server-side request forgery). Every address outside the public internet is refused
//! unless the operator allows its network (`WEBHOOK_ALLOWED_NETWORKS`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

/// The kind of address a webhook may not be sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Unspecified,
    Loopback,
    Private,
    SharedAddressSpace,
    LinkLocal,
    UniqueLocal,
    Multicast,
    Broadcast,
    Documentation,
    Reserved,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refused::Unspecified => "an unspecified (this-host) address",
            Refused::Loopback => "a loopback address",
            Refused::Private => "a private-network address",
            Refused::SharedAddressSpace => "a carrier-grade NAT (shared) address",
            Refused::LinkLocal => "a link-local address (where cloud metadata services answer)",
            Refused::UniqueLocal => "a unique-local (private IPv6) address",
            Refused::Multicast => "a multicast address",
            Refused::Broadcast => "the broadcast address",
            Refused::Documentation => "a documentation-only address",
            Refused::Reserved => "a reserved address",
        })
    }
}

/// A webhook host that stands for an address where webhooks may not be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The URL's host: a name, or the address itself.
    pub host: String,
    pub ip: IpAddr,
    pub why: Refused,
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Blocked { host, ip, why } = self;
        if host.trim_matches(['[', ']']) == ip.to_string() {
            write!(f, "{ip} is {why}")?;
        } else {
            write!(f, "{host} resolves to {ip}, {why}")?;
        }
        f.write_str("; webhooks are sent to public internet addresses only")
    }
}

impl std::error::Error for Blocked {}

/// Whether a webhook may be sent to `ip`, which `host` stands for.
pub fn check(host: &str, ip: IpAddr, allowed: &[IpNet]) -> Result<(), Blocked> {
    match refusal(ip, allowed) {
        None => Ok(()),
        Some(why) => Err(Blocked {
            host: host.to_owned(),
            ip,
            why,
        }),
    }
}

/// IPv4 networks that are not the public internet (RFC 6890 and its updates).
const V4: [(u32, u8, Refused); 15] = [
    (0x0000_0000, 8, Refused::Unspecified),         // 0.0.0.0/8
    (0x0a00_0000, 8, Refused::Private),             // 10.0.0.0/8
    (0x6440_0000, 10, Refused::SharedAddressSpace), // 100.64.0.0/10
    (0x7f00_0000, 8, Refused::Loopback),            // 127.0.0.0/8
    (0xa9fe_0000, 16, Refused::LinkLocal),          // 169.254.0.0/16, incl. 169.254.169.254
    (0xac10_0000, 12, Refused::Private),            // 172.16.0.0/12
    (0xc000_0000, 24, Refused::Reserved),           // 192.0.0.0/24
    (0xc000_0200, 24, Refused::Documentation),      // 192.0.2.0/24
    (0xc058_6300, 24, Refused::Reserved),           // 192.88.99.0/24 (6to4 relays)
    (0xc0a8_0000, 16, Refused::Private),            // 192.168.0.0/16
    (0xc612_0000, 15, Refused::Reserved),           // 198.18.0.0/15 (benchmarking)
    (0xc633_6400, 24, Refused::Documentation),      // 198.51.100.0/24
    (0xcb00_7100, 24, Refused::Documentation),      // 203.0.113.0/24
    (0xe000_0000, 4, Refused::Multicast),           // 224.0.0.0/4
    (0xf000_0000, 4, Refused::Reserved),            // 240.0.0.0/4 (the broadcast address aside)
];

/// IPv6 networks that are not the public internet. Those that embed an IPv4 address are in
/// [`refusal`]'s rule.
const V6: [(u128, u8, Refused); 9] = [
    (0, 128, Refused::Unspecified),                       // ::/128
    (1, 128, Refused::Loopback),                          // ::1/128
    (0x0100_0000_0000_0000 << 64, 64, Refused::Reserved), // 100::/64 (discard)
    (0x2001_0000 << 96, 32, Refused::Reserved),           // 2001::/32 (Teredo: a relay picks)
    (0x2001_0db8 << 96, 32, Refused::Documentation),      // 2001:db8::/32
    (0xfc00 << 112, 7, Refused::UniqueLocal),             // fc00::/7
    (0xfe80 << 112, 10, Refused::LinkLocal),              // fe80::/10
    (0xfec0 << 112, 10, Refused::Private),                // fec0::/10 (site-local)
    (0xff00 << 112, 8, Refused::Multicast),               // ff00::/8
];

/// Why a webhook may not be sent to `ip`, or `None` when it may: a public address, or one inside
/// a network the operator allowed. The same rule holds at registration and for every address a
/// name resolves to when a delivery connects.
///
/// IPv6 forms that embed an IPv4 address are decided one by one:
/// - IPv4-mapped `::ffff:a.b.c.d` is that IPv4 address (the socket connects over IPv4): judged
///   and allowed as it;
/// - NAT64 `64:ff9b::a.b.c.d` (RFC 6052) and 6to4 `2002:aabb:ccdd::/48` (RFC 3056) reach the
///   embedded address through a translator or relay: refused when the embedded address would
///   be, and otherwise judged as IPv6. The allow list lifts a refusal only for the address
///   connected to: allowing `127.0.0.1` does not allow `64:ff9b::7f00:1`, which a translator
///   would carry to *its* loopback; allow the IPv6 network itself to send there;
/// - IPv4-compatible `::a.b.c.d` (deprecated, RFC 4291), SIIT's IPv4-translated
///   `::ffff:0:a.b.c.d` (RFC 2765, dropped by RFC 6145), NAT64's local-use `64:ff9b:1::/48`
///   (RFC 8215: where the IPv4 address sits is the operator's choice) and Teredo `2001::/32`
///   have no public use for a webhook: refused as reserved, unless their network is allowed.
pub fn refusal(ip: IpAddr, allowed: &[IpNet]) -> Option<Refused> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    };
    if allowed.iter().any(|network| network.contains(&ip)) {
        return None;
    }
    match ip {
        IpAddr::V4(v4) => v4_refusal(v4),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            first_match(bits, 128, &V6).or_else(|| match embedded(bits) {
                Embedded::Reachable(v4) => v4_refusal(v4),
                Embedded::Obsolete => Some(Refused::Reserved),
                Embedded::None => None,
            })
        }
    }
}

fn v4_refusal(v4: Ipv4Addr) -> Option<Refused> {
    if v4 == Ipv4Addr::BROADCAST {
        return Some(Refused::Broadcast);
    }
    first_match(u32::from(v4).into(), 32, &V4.map(widen))
}

/// What an IPv6 address (not IPv4-mapped, not `::` or `::1`) says of an embedded IPv4 address.
enum Embedded {
    /// Traffic reaches this IPv4 address through a translator (NAT64) or relay (6to4).
    Reachable(Ipv4Addr),
    /// A form with no public use: IPv4-compatible, SIIT, NAT64 local-use.
    Obsolete,
    None,
}

fn embedded(bits: u128) -> Embedded {
    let low32 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    match bits >> 32 {
        0x0064_ff9b_0000_0000_0000_0000 => Embedded::Reachable(low32),
        0 | 0xffff_0000 => Embedded::Obsolete,
        _ if bits >> 112 == 0x2002 => {
            Embedded::Reachable(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32))
        }
        _ if bits >> 80 == 0x0064_ff9b_0001 => Embedded::Obsolete,
        _ => Embedded::None,
    }
}

fn widen((network, prefix, refused): (u32, u8, Refused)) -> (u128, u8, Refused) {
    (u128::from(network), prefix, refused)
}

fn first_match(address: u128, width: u8, table: &[(u128, u8, Refused)]) -> Option<Refused> {
    table.iter().find_map(|&(network, prefix, refused)| {
        let shift = u32::from(width - prefix);
        let same = prefix == 0 || address.checked_shr(shift) == network.checked_shr(shift);
        same.then_some(refused)
    })
}

/// Parses one allowed network: a CIDR (`10.1.0.0/16`, `fd00::/8`) or a single address.
pub fn parse_network(value: &str) -> Result<IpNet, String> {
    let value = value.trim();
    value
        .parse::<IpNet>()
        .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
        .map(|network| network.trunc())
        .map_err(|_| format!("{value:?} is not a network like 10.1.0.0/16 or fd00::/8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(ip: &str, allowed: &[&str]) -> Option<Refused> {
        let allowed: Vec<IpNet> = allowed.iter().map(|n| parse_network(n).unwrap()).collect();
        refusal(ip.parse().unwrap(), &allowed)
    }

    #[test]
    fn every_address_outside_the_public_internet_is_refused() {
        for (ip, refused) in [
            ("0.0.0.0", Refused::Unspecified),
            ("0.1.2.3", Refused::Unspecified),
            ("127.0.0.1", Refused::Loopback),
            ("127.255.0.9", Refused::Loopback),
            ("10.0.0.1", Refused::Private),
            ("172.16.0.1", Refused::Private),
            ("172.31.255.255", Refused::Private),
            ("192.168.1.1", Refused::Private),
            ("100.64.0.1", Refused::SharedAddressSpace),
            ("100.100.100.200", Refused::SharedAddressSpace),
            ("169.254.169.254", Refused::LinkLocal),
            ("192.0.0.8", Refused::Reserved),
            ("192.0.2.10", Refused::Documentation),
            ("198.18.0.1", Refused::Reserved),
            ("224.0.0.1", Refused::Multicast),
            ("240.0.0.1", Refused::Reserved),
            ("255.255.255.255", Refused::Broadcast),
            ("::", Refused::Unspecified),
            ("::1", Refused::Loopback),
            ("fe80::1", Refused::LinkLocal),
            ("fc00::1", Refused::UniqueLocal),
            ("fd00:ec2::254", Refused::UniqueLocal),
            ("fec0::1", Refused::Private),
            ("ff02::1", Refused::Multicast),
            ("2001:db8::1", Refused::Documentation),
            ("100::1", Refused::Reserved),
            ("::ffff:127.0.0.1", Refused::Loopback),
            ("::ffff:169.254.169.254", Refused::LinkLocal),
            ("::10.0.0.1", Refused::Reserved),
            ("::7f00:1", Refused::Reserved),
            ("::8.8.8.8", Refused::Reserved),
            ("::ffff:0:127.0.0.1", Refused::Reserved),
            ("::ffff:0:8.8.8.8", Refused::Reserved),
            ("64:ff9b::a9fe:a9fe", Refused::LinkLocal),
            ("64:ff9b::7f00:1", Refused::Loopback),
            ("64:ff9b:1::808:808", Refused::Reserved),
            ("2002:0a00:0001::1", Refused::Private),
            ("2002:7f00:1::", Refused::Loopback),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Refused::Reserved),
        ] {
            assert_eq!(judge(ip, &[]), Some(refused), "{ip}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "169.253.255.255",
            "192.0.1.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
        ] {
            assert_eq!(judge(ip, &[]), None, "{ip}");
        }
    }

    #[test]
    fn an_allowed_network_lifts_the_refusal_for_that_network_only() {
        assert_eq!(judge("127.0.0.1", &["127.0.0.0/8"]), None);
        assert_eq!(judge("::ffff:127.0.0.1", &["127.0.0.0/8"]), None);
        assert_eq!(judge("::1", &["127.0.0.0/8"]), Some(Refused::Loopback));
        // The allow list is of addresses connected to: a translator's or relay's address that
        // embeds an allowed IPv4 address is not allowed by it.
        for (embedding, why) in [
            ("64:ff9b::7f00:1", Refused::Loopback),
            ("2002:7f00:1::", Refused::Loopback),
            ("::7f00:1", Refused::Reserved),
            ("::ffff:0:127.0.0.1", Refused::Reserved),
        ] {
            assert_eq!(
                judge(embedding, &["127.0.0.1/32"]),
                Some(why),
                "{embedding}"
            );
        }
        assert_eq!(judge("64:ff9b::7f00:1", &["64:ff9b::/96"]), None);
        assert_eq!(judge("10.1.2.3", &["10.1.0.0/16"]), None);
        assert_eq!(judge("10.2.0.1", &["10.1.0.0/16"]), Some(Refused::Private));
        assert_eq!(judge("fd00::5", &["fd00::5"]), None);
        assert_eq!(
            judge("169.254.169.254", &["127.0.0.0/8", "10.0.0.0/8"]),
            Some(Refused::LinkLocal)
        );
    }

    #[test]
    fn a_blocked_host_says_what_it_stands_for_and_why() {
        let loopback = "127.0.0.1".parse().unwrap();
        assert_eq!(
            check("localhost", loopback, &[]).unwrap_err().to_string(),
            "localhost resolves to 127.0.0.1, a loopback address; webhooks are sent to public \
             internet addresses only"
        );
        assert_eq!(
            check("[::1]", "::1".parse().unwrap(), &[])
                .unwrap_err()
                .to_string(),
            "::1 is a loopback address; webhooks are sent to public internet addresses only"
        );
        assert_eq!(check("one.one", "1.1.1.1".parse().unwrap(), &[]), Ok(()));
    }

    #[test]
    fn allowed_networks_are_cidrs_or_single_addresses() {
        assert_eq!(
            parse_network(" 10.1.2.3/16 ").unwrap().to_string(),
            "10.1.0.0/16"
        );
        assert_eq!(parse_network("fd00::1").unwrap().to_string(), "fd00::1/128");
        assert_eq!(
            parse_network("192.168.0.7").unwrap().to_string(),
            "192.168.0.7/32"
        );
        for bad in ["", "10.0.0.0/33", "localhost", "10.0.0", "*"] {
            assert!(parse_network(bad).is_err(), "{bad}");
        }
    }
}
