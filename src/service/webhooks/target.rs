//! Where a webhook may go: the URL's form, and its host's addresses checked against the rule in
//! `domain::webhook::address` when the endpoint is registered and again on every connection
//! (a name can be made to resolve elsewhere after registration).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::domain::webhook::address::{self, Blocked};

/// How long registration waits for a name to resolve; a name that does not resolve in time is
/// accepted and checked when connecting.
const RESOLVE_AT_REGISTRATION: Duration = Duration::from_secs(2);

/// The longest URL accepted.
pub const MAX_URL_LENGTH: usize = 2048;

/// Parses a webhook URL: `http://` or `https://` with a host, at most 2048 characters, no
/// whitespace or control characters. `None` when it is not one.
pub fn parse_url(raw: &str) -> Option<Url> {
    let raw = raw.trim();
    let after_scheme = ["https://", "http://"].iter().find_map(|scheme| {
        raw.get(..scheme.len())
            .filter(|head| head.eq_ignore_ascii_case(scheme))
            .map(|_| &raw[scheme.len()..])
    })?;
    // `https:///x` would parse with host `x`; the host must follow the slashes directly.
    if after_scheme.starts_with(['/', '?', '#'])
        || raw.len() > MAX_URL_LENGTH
        || raw.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return None;
    }
    let url = Url::parse(raw).ok()?;
    let has_host = url.host_str().is_some_and(|host| !host.is_empty());
    (has_host && url.as_str().len() <= MAX_URL_LENGTH).then_some(url)
}

/// The URL's host when it is an address literal (which no resolver sees).
pub fn literal_address(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        Host::Domain(_) => None,
    }
}

/// Refuses a URL whose host is, or now resolves to, an address webhooks may not go to.
pub async fn check_at_registration(url: &Url, allowed: &[IpNet]) -> Result<(), Blocked> {
    let host = url.host_str().unwrap_or_default();
    if let Some(ip) = literal_address(url) {
        return address::check(host, ip, allowed);
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let lookup = tokio::net::lookup_host((host, port));
    if let Ok(Ok(addresses)) = tokio::time::timeout(RESOLVE_AT_REGISTRATION, lookup).await {
        for socket in addresses {
            address::check(host, socket.ip(), allowed)?;
        }
    }
    Ok(())
}

/// The DNS resolver of the delivery client: the system's, refusing a name when any of its
/// addresses is one webhooks may not go to.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    pub allowed: Arc<[IpNet]>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allowed = Arc::clone(&self.allowed);
        Box::pin(async move {
            let host = name.as_str();
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
            for socket in &addresses {
                address::check(host, socket.ip(), &allowed)?;
            }
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_with_a_host_are_accepted() {
        for good in [
            "https://hooks.contoso.example/csp",
            "http://127.0.0.1:8080/hook?x=1",
            "HTTPS://Hooks.Example",
            "https://[2606:4700::1111]:8443/h",
            " https://hooks.example/padded ",
        ] {
            assert!(parse_url(good).is_some(), "{good}");
        }
        let long = format!("https://hooks.example/{}", "a".repeat(2048));
        for bad in [
            "",
            "ftp://x.example/h",
            "https:///nohost",
            "https://",
            "https://?q",
            "hooks.example/h",
            "https://hooks example/h",
            "https://hooks.example/a\tb",
            "https://hooks.example/\u{7}",
            "javascript://x",
            long.as_str(),
        ] {
            assert!(parse_url(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn literal_addresses_are_recognised() {
        let of = |url: &str| literal_address(&parse_url(url).unwrap());
        assert_eq!(of("http://10.0.0.1/h"), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(of("http://[::1]:80/h"), Some("::1".parse().unwrap()));
        assert_eq!(of("http://0x7f.1/h"), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(of("http://localhost/h"), None);
    }
}
