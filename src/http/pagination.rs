//! Lists: a `limit` and an opaque continuation token naming the last item already returned.

use std::fmt::Display;
use std::str::FromStr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use super::extract::{Json, Query};
use super::problem::Problem;
use crate::domain::ErrorCode;
use crate::error::Error;

/// Items per page when the caller gives no limit.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page a caller may ask for.
pub const MAX_LIMIT: u32 = 200;

const TOKEN_PREFIX: &str = "v1:";

/// `limit` and `continuationToken`, for lists with no other filter.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The token from the previous page.
    pub continuation_token: Option<String>,
}

/// The paging parameters of a list's query, beside the list's own filters.
pub trait Paging {
    /// `limit`, as sent.
    fn limit(&self) -> Option<u32>;
    /// `continuationToken`, as sent.
    fn continuation_token(&self) -> Option<&str>;

    /// The page asked for: 400 `invalid_limit` or `invalid_continuation_token` when it is not one.
    fn bounds(&self) -> Result<PageBounds, Error> {
        PageBounds::parse(self.limit(), self.continuation_token())
    }
}

impl Paging for PageQuery {
    fn limit(&self) -> Option<u32> {
        self.limit
    }

    fn continuation_token(&self) -> Option<&str> {
        self.continuation_token.as_deref()
    }
}

/// A list request: its query string, read with our [`Query`] (400 `invalid_query_parameter` when
/// it does not fit `Q`). The `limit` and token are checked when the page is asked for (400
/// `invalid_limit` or `invalid_continuation_token`), so after the handler's role check.
#[derive(Debug)]
pub struct PageRequest<Q = PageQuery> {
    /// The query, with the list's filters if it has any.
    pub query: Q,
}

impl<Q, S> FromRequestParts<S> for PageRequest<Q>
where
    Q: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(query) = Query::<Q>::from_request_parts(parts, state).await?;
        Ok(PageRequest { query })
    }
}

impl<Q: Paging> PageRequest<Q> {
    /// One page of a list ordered by a unique key: `load` fetches the rows after a key (the
    /// token's, if any), at most the limit it is given; `key` names a row's key and `view` turns
    /// a row into what the answer shows.
    pub async fn keyset<R, K, V>(
        self,
        load: impl AsyncFnOnce(Option<K>, i64) -> Result<Vec<R>, Error>,
        key: impl Fn(&R) -> K,
        mut view: impl FnMut(R) -> V,
    ) -> Result<Json<Page<V>>, Error>
    where
        K: FromStr + Display,
    {
        self.try_keyset(load, key, |row| Ok(view(row))).await
    }

    /// [`Self::keyset`] with a view that can fail.
    pub async fn try_keyset<R, K, V>(
        self,
        load: impl AsyncFnOnce(Option<K>, i64) -> Result<Vec<R>, Error>,
        key: impl Fn(&R) -> K,
        view: impl FnMut(R) -> Result<V, Error>,
    ) -> Result<Json<Page<V>>, Error>
    where
        K: FromStr + Display,
    {
        let bounds = self.query.bounds()?;
        let rows = load(bounds.after_key()?, bounds.fetch_limit()).await?;
        let page = bounds.keyset_page(rows, |row| key(row).to_string());
        Ok(Json(page.try_map(view)?))
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `continuationToken` to get the next page; `null` on the last page.
    pub continuation_token: Option<String>,
}

impl<T> Page<T> {
    /// The same page with every item converted, or the first conversion's error.
    pub fn try_map<U, E>(self, mut f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        // Into a new vector: collected in place, the old one would be reallocated to `U`'s size.
        let mut items = Vec::with_capacity(self.items.len());
        for item in self.items {
            items.push(f(item)?);
        }
        Ok(Page {
            items,
            continuation_token: self.continuation_token,
        })
    }
}

/// A validated `limit` and decoded continuation token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageBounds {
    pub limit: u32,
    /// The key of the last item the caller already has.
    pub after: Option<String>,
}

impl PageBounds {
    /// Validates the raw query values.
    pub fn parse(limit: Option<u32>, token: Option<&str>) -> Result<Self, Error> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::new(
                ErrorCode::InvalidLimit,
                format!("limit must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = token.map(decode_token).transpose()?;
        Ok(PageBounds { limit, after })
    }

    /// The continuation key, parsed as the list's key.
    pub fn after_key<K: FromStr>(&self) -> Result<Option<K>, Error> {
        self.after
            .as_deref()
            .map(|key| key.parse().map_err(|_| invalid_token()))
            .transpose()
    }

    /// Rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// Turns rows fetched with [`Self::fetch_limit`] into a page.
    pub fn keyset_page<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> String) -> Page<T> {
        let limit = self.limit as usize;
        let continuation_token = (rows.len() > limit).then(|| encode_token(&key(&rows[limit - 1])));
        rows.truncate(limit);
        Page {
            items: rows,
            continuation_token,
        }
    }

    /// Pages an in-memory list that is already in key order: the items after `after`, at most
    /// `limit` of them. A token naming a key that is not in the list is refused.
    pub fn apply<T>(&self, items: Vec<T>, key: impl Fn(&T) -> String) -> Result<Page<T>, Error> {
        let start = match &self.after {
            None => 0,
            Some(after) => {
                items
                    .iter()
                    .position(|item| &key(item) == after)
                    .ok_or_else(invalid_token)?
                    + 1
            }
        };
        let mut rest: Vec<T> = items.into_iter().skip(start).collect();
        let limit = self.limit as usize;
        let continuation_token = (rest.len() > limit).then(|| encode_token(&key(&rest[limit - 1])));
        rest.truncate(limit);
        Ok(Page {
            items: rest,
            continuation_token,
        })
    }
}

/// Wraps a key into an opaque token.
pub fn encode_token(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TOKEN_PREFIX}{key}"))
}

fn decode_token(token: &str) -> Result<String, Error> {
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid_token())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid_token())?;
    text.strip_prefix(TOKEN_PREFIX)
        .map(str::to_owned)
        .ok_or_else(invalid_token)
}

fn invalid_token() -> Error {
    Error::new(
        ErrorCode::InvalidContinuationToken,
        "continuationToken is not one this list returned",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_the_whole_list_once() {
        let items = vec!["a", "b", "c", "d", "e"];
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let request = PageBounds::parse(Some(2), token.as_deref()).unwrap();
            let page = request.apply(items.clone(), |s| s.to_string()).unwrap();
            seen.extend(page.items);
            match page.continuation_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn an_exact_last_page_has_no_token() {
        let page = PageBounds::parse(Some(3), None)
            .unwrap()
            .apply(vec!["a", "b", "c"], |s| s.to_string())
            .unwrap();
        assert_eq!(page.items.len(), 3);
        assert!(page.continuation_token.is_none());
    }

    #[test]
    fn bad_limits_and_tokens_are_refused() {
        let cases: [(Option<u32>, Option<&str>, &str); 4] = [
            (Some(0), None, "invalid_limit"),
            (Some(MAX_LIMIT + 1), None, "invalid_limit"),
            (None, Some("%%%"), "invalid_continuation_token"),
            (None, Some("aGVsbG8"), "invalid_continuation_token"),
        ];
        for (limit, token, expected) in cases {
            match PageBounds::parse(limit, token) {
                Err(Error::Refused { code, .. }) => assert_eq!(code.as_str(), expected),
                other => panic!("{limit:?} {token:?}: {other:?}"),
            }
        }
        let unknown_key = PageBounds::parse(None, Some(&encode_token("zz"))).unwrap();
        assert!(unknown_key.apply(vec!["a"], |s| s.to_string()).is_err());
    }

    /// A keyset list as the database gives it: the ids after a key, in order, at most `limit`.
    async fn keyset_page_of(
        ids: &[uuid::Uuid],
        token: Option<String>,
    ) -> Result<Page<String>, Error> {
        let request = PageRequest {
            query: PageQuery {
                limit: Some(2),
                continuation_token: token,
            },
        };
        let load = async |after: Option<uuid::Uuid>, limit: i64| {
            let rest = ids.iter().filter(|id| after.is_none_or(|a| **id > a));
            Ok(rest
                .take(usize::try_from(limit).unwrap())
                .copied()
                .collect())
        };
        let Json(page) = request.keyset(load, |id| *id, |id| id.to_string()).await?;
        Ok(page)
    }

    #[tokio::test]
    async fn keyset_pages_walk_the_whole_list_once() {
        let mut ids: Vec<uuid::Uuid> = (0..5).map(|_| uuid::Uuid::new_v4()).collect();
        ids.sort();
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = keyset_page_of(&ids, token).await.unwrap();
            seen.extend(page.items);
            token = page.continuation_token;
            if token.is_none() {
                break;
            }
        }
        let expected: Vec<String> = ids.iter().map(ToString::to_string).collect();
        assert_eq!(seen, expected);
    }

    #[tokio::test]
    async fn a_keyset_token_whose_key_is_not_an_id_is_refused() {
        let refused = keyset_page_of(&[], Some(encode_token("zz"))).await;
        match refused {
            Err(Error::Refused { code, .. }) => {
                assert_eq!(code, ErrorCode::InvalidContinuationToken);
            }
            other => panic!("{other:?}"),
        }
    }
}
