//! The identity provider over HTTP: its discovery document and its key set, fetched over HTTPS
//! (plain HTTP only on loopback, for tests and local providers), bounded in size and time.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::{CACHE_CONTROL, HeaderMap};
use serde::Deserialize;
use url::{Host, Url};

use super::jwk_set::{self, KeySet, KeySetError};
use super::settings::{KeyError, KeySettings};

/// Time a fetch may take, connection included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest discovery document or key set read (Entra's key set is about 10 KiB).
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Redirects followed per fetch.
const MAX_REDIRECTS: usize = 5;
/// What `{tenantid}` becomes in the discovery URL: Entra ID's multi-tenant endpoint, whose
/// discovery document names the templated issuer.
const DISCOVERY_TENANT: &str = "common";

/// Why a fetch gave no keys; logged, never shown to a caller.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("request to {url} failed: {source}")]
    Request { url: Url, source: reqwest::Error },
    #[error("{url} answered HTTP {status}")]
    Status { url: Url, status: u16 },
    #[error("{url} sent more than {MAX_BODY_BYTES} bytes")]
    TooLarge { url: Url },
    #[error("the discovery document at {url} is not JSON with issuer and jwks_uri: {source}")]
    Discovery { url: Url, source: serde_json::Error },
    #[error("the discovery document names issuer {found:?}, not the configured {expected:?}")]
    IssuerMismatch { expected: String, found: String },
    #[error("the discovery document's jwks_uri {url:?} is unusable: {reason}")]
    JwksUri { url: String, reason: String },
    #[error("the key set at {url} is unusable: {source}")]
    KeySet { url: Url, source: KeySetError },
}

/// A fetched key set and how long the provider says it may be cached.
pub struct Fetched {
    pub keys: KeySet,
    pub max_age: Option<Duration>,
}

/// Where the keys are, and the client that fetches them.
pub struct Provider {
    client: reqwest::Client,
    source: Source,
}

enum Source {
    KeySet(Url),
    Discovery { document: Url, issuer: String },
}

impl Provider {
    /// Checks the configured URLs (refusing plain HTTP beyond loopback) and builds the client.
    pub fn new(settings: &KeySettings) -> Result<Self, KeyError> {
        let source = match (&settings.jwks_url, &settings.oidc_issuer) {
            (Some(url), _) => Source::KeySet(configured_url("AUTH_JWKS_URL", url)?),
            (None, Some(issuer)) => Source::Discovery {
                document: discovery_url(issuer)?,
                issuer: issuer.clone(),
            },
            (None, None) => return Err(KeyError::BothKeys),
        };
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    attempt.error("too many redirects")
                } else if let Err(reason) = allowed(attempt.url()) {
                    attempt.error(reason)
                } else {
                    attempt.follow()
                }
            }))
            .user_agent(concat!("subscription-upgrades/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| KeyError::Client(e.to_string()))?;
        Ok(Provider { client, source })
    }

    /// Fetches the key set, discovering where it is first when configured so.
    pub async fn fetch(&self) -> Result<Fetched, FetchError> {
        let url = match &self.source {
            Source::KeySet(url) => url.clone(),
            Source::Discovery { document, issuer } => self.discover(document, issuer).await?,
        };
        let (body, headers) = self.get(&url).await?;
        let keys = jwk_set::parse(&body).map_err(|source| FetchError::KeySet { url, source })?;
        Ok(Fetched {
            keys,
            max_age: max_age(&headers),
        })
    }

    async fn discover(&self, document: &Url, issuer: &str) -> Result<Url, FetchError> {
        #[derive(Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let (body, _) = self.get(document).await?;
        let discovery: Discovery =
            serde_json::from_slice(&body).map_err(|source| FetchError::Discovery {
                url: document.clone(),
                source,
            })?;
        // OpenID Connect Discovery 1.0, section 4.3: the issuer must be exactly the one asked for.
        if discovery.issuer != issuer {
            return Err(FetchError::IssuerMismatch {
                expected: issuer.to_owned(),
                found: discovery.issuer,
            });
        }
        let unusable = |reason: String| FetchError::JwksUri {
            url: discovery.jwks_uri.clone(),
            reason,
        };
        let url = Url::parse(&discovery.jwks_uri).map_err(|e| unusable(e.to_string()))?;
        allowed(&url).map_err(|reason| unusable(reason.to_owned()))?;
        Ok(url)
    }

    async fn get(&self, url: &Url) -> Result<(Vec<u8>, HeaderMap), FetchError> {
        let failed = |source| FetchError::Request {
            url: url.clone(),
            source,
        };
        let mut response = self.client.get(url.clone()).send().await.map_err(failed)?;
        if !response.status().is_success() {
            return Err(FetchError::Status {
                url: url.clone(),
                status: response.status().as_u16(),
            });
        }
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(FetchError::TooLarge { url: url.clone() });
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, headers))
    }
}

/// A configured URL, parsed and allowed.
fn configured_url(setting: &'static str, value: &str) -> Result<Url, KeyError> {
    let refuse = |reason: String| KeyError::ProviderUrl {
        setting,
        url: value.to_owned(),
        reason,
    };
    let url = Url::parse(value).map_err(|e| refuse(e.to_string()))?;
    allowed(&url).map_err(|reason| refuse(reason.to_owned()))?;
    Ok(url)
}

/// `{issuer}/.well-known/openid-configuration`, with `{tenantid}` as Entra ID's `common`.
fn discovery_url(issuer: &str) -> Result<Url, KeyError> {
    let base = issuer.replacen("{tenantid}", DISCOVERY_TENANT, 1);
    if base.contains("{tenantid}") {
        return Err(KeyError::ProviderUrl {
            setting: "AUTH_OIDC_ISSUER",
            url: issuer.to_owned(),
            reason: "{tenantid} may appear only once".to_owned(),
        });
    }
    let document = format!(
        "{}/.well-known/openid-configuration",
        base.trim_end_matches('/')
    );
    configured_url("AUTH_OIDC_ISSUER", &document)
}

/// HTTPS anywhere; plain HTTP only to a loopback host (127.0.0.0/8, ::1, localhost).
pub(super) fn allowed(url: &Url) -> Result<(), &'static str> {
    let loopback = match url.host() {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => return Err("the URL has no host"),
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err("plain http is only allowed to a loopback host; use https"),
        _ => Err("only https URLs are allowed"),
    }
}

/// `Cache-Control: max-age`, when the provider sends one.
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(CACHE_CONTROL)?.to_str().ok()?;
    value.split(',').find_map(|directive| {
        let (name, seconds) = directive.trim().split_once('=')?;
        name.eq_ignore_ascii_case("max-age")
            .then(|| seconds.trim_matches('"').parse().ok())
            .flatten()
            .map(Duration::from_secs)
    })
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn https_anywhere_and_plain_http_only_on_loopback() {
        for url in [
            "https://login.microsoftonline.com/common/discovery/v2.0/keys",
            "http://127.0.0.1:8080/keys",
            "http://127.9.9.9/keys",
            "http://[::1]:9000/keys",
            "http://localhost/keys",
            "http://LOCALHOST:1/keys",
        ] {
            assert_eq!(allowed(&Url::parse(url).unwrap()), Ok(()), "{url}");
        }
        for url in [
            "http://login.microsoftonline.com/keys",
            "http://10.0.0.1/keys",
            "http://localhost.example.com/keys",
            "http://[::ffff:127.0.0.1]/keys",
            "ftp://127.0.0.1/keys",
            "file:///etc/keys",
        ] {
            assert!(allowed(&Url::parse(url).unwrap()).is_err(), "{url}");
        }
    }

    #[test]
    fn the_discovery_url_follows_the_issuer_with_entras_common_tenant() {
        let url = discovery_url("https://login.microsoftonline.com/{tenantid}/v2.0").unwrap();
        assert_eq!(
            url.as_str(),
            "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"
        );
        let url = discovery_url("https://id.example.com/realms/partners/").unwrap();
        assert_eq!(
            url.as_str(),
            "https://id.example.com/realms/partners/.well-known/openid-configuration"
        );
        assert!(discovery_url("http://id.example.com").is_err());
        assert!(discovery_url("https://x/{tenantid}/{tenantid}").is_err());
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        let cases = [
            ("public, max-age=3600", Some(3600)),
            ("max-age=\"60\"", Some(60)),
            ("no-cache", None),
            ("max-age=soon", None),
        ];
        for (value, expected) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(CACHE_CONTROL, HeaderValue::from_static(value));
            assert_eq!(
                max_age(&headers),
                expected.map(Duration::from_secs),
                "{value}"
            );
        }
    }
}
