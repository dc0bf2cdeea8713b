//! The rules the service enforces, stated in the document so that a client can check its input
//! before sending it: the catalog's closed lists as enums (built from the domain's own lists, so
//! the two cannot drift), bounds from the same constants the checks use, and patterns for the
//! headers. Where a rule cannot be stated exactly the schema states a looser one: a client that
//! follows the document never refuses what the service would accept.

use utoipa::Modify;
use utoipa::openapi::schema::{
    AnyOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::{Ref, RefOr};

pub use crate::domain::catalog::{AddOnOfferId, BaseOfferId, MarketCode, OfferId, ServiceCode};
use crate::domain::catalog::{named_schema, string_enum};
use crate::domain::input::{
    CUSTOMER_NAME_MAX, DISPLAY_NAME_MAX, EMAIL_MAX, NAME_FORBIDDEN_CLASS, WHITESPACE_CLASS,
};
#[cfg(doc)]
use crate::domain::input::{EARLIEST_DATE, LATEST_DATE};
use crate::domain::subscription::MAX_QUANTITY;
use crate::domain::webhook::EVENT_TYPES;
use crate::service::idempotency::MAX_KEY_LEN;
use crate::service::webhooks::target::MAX_URL_LENGTH;

named_schema!(
    /// A webhook event type.
    EventType => string_enum("A type of event webhooks send.", EVENT_TYPES)
);

named_schema!(
    /// A number of seats.
    Quantity => ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .description(Some("Seats."))
        .minimum(Some(1))
        .maximum(Some(MAX_QUANTITY))
        .into()
);

named_schema!(
    /// The next term's seats: a number, or `assigned`.
    NextTermQuantity => AnyOfBuilder::new()
        .description(Some(
            "Seats of the next term: a number, or `\"assigned\"` for as many seats as licenses \
             are assigned at the renewal (at least 1).",
        ))
        .item(RefOr::Ref(Ref::from_schema_name("Quantity")))
        .item(string_enum("Right-size to the licenses assigned at the renewal.", ["assigned"]))
        .into()
);

named_schema!(
    /// One event of a job's `text/event-stream`, as an SSE parser presents it.
    JobEvent => ObjectBuilder::new()
        .description(Some("One server-sent event of a job's stream."))
        .property(
            "event",
            string_enum(
                "`progress` while the job runs, `end` once with its final state, `error` if the \
                 job could not be read (the stream then closes).",
                ["progress", "end", "error"],
            ),
        )
        .property(
            "id",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "The job's progress as of this event (`running-120`: its status and items \
                     done), `end` for the `end` event; send it back as `Last-Event-ID` when \
                     reconnecting. None on `error`.",
                )),
        )
        .property(
            "data",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "For `progress` and `end`: the job's progress as JSON, `id`, `job` (its \
                     URL), `status`, `totalItems`, `counts`, `percent`, `itemsPerSecond`, \
                     `startedAt`, `finishedAt`, `estimatedEnd` (the job's definition is not \
                     repeated: read it at `job`); for `error`: a message.",
                )),
        )
        .required("event")
        .required("data")
        .into()
);

/// The year of an accepted date or timestamp: 1970 through 2999 ([`EARLIEST_DATE`] and
/// [`LATEST_DATE`], which a test compares with it). A timestamp with an offset other than `Z`
/// near either end may still be out of range once converted to UTC; the pattern is the looser
/// bound.
const YEAR_RANGE: &str = "^(19[7-9][0-9]|2[0-9]{3})-";

/// A list of catalog codes (`item`), each once, or `["*"]` for all: `*` among other entries is
/// refused by the service, a cross-entry rule the item schema leaves out.
fn codes_or_all(item: &str, all: &str, description: &str) -> Schema {
    let star = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["*"]))
        .description(Some(all));
    ArrayBuilder::new()
        .items(
            AnyOfBuilder::new()
                .item(Ref::from_schema_name(item))
                .item(star),
        )
        .min_items(Some(1))
        .unique_items(true)
        .description(Some(description))
        .into()
}

/// Service codes of a delegated admin relationship, or `["*"]`.
pub fn granted_services() -> Schema {
    codes_or_all(
        "ServiceCode",
        "Every service (only as the one entry).",
        "Service codes the relationship grants admin rights for, each once, or `[\"*\"]` for all.",
    )
}

/// Event types an endpoint receives, or `["*"]`.
pub fn event_types() -> Schema {
    codes_or_all(
        "EventType",
        "Every event type (only as the one entry).",
        "Event types to send, each once, or `[\"*\"]` for all.",
    )
}

/// Service codes switched off for a user: catalog services, each once (those of the
/// subscription's offer, which the schema cannot name).
pub fn disabled_services() -> Schema {
    ArrayBuilder::new()
        .items(Ref::from_schema_name("ServiceCode"))
        .unique_items(true)
        .description(Some(
            "Services of the offer switched off for this user, each once (400 \
             `invalid_disabled_services` for a service the offer does not include).",
        ))
        .into()
}

/// An e-mail address as the service checks it ([`crate::domain::input::email`]): one `@`
/// between a local part and a domain with a dot that neither starts nor ends it, no spaces,
/// control or invisible formatting characters inside (surrounding spaces are trimmed), at most
/// [`EMAIL_MAX`] characters as sent. Not `format: email`, which refuses addresses the service takes
/// (`a@b.test*`).
pub fn email() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "Unique within the customer, case-insensitively; one `@` between a local part and a \
             domain with a dot that neither starts nor ends it; no spaces, control or invisible \
             formatting characters (surrounding spaces are trimmed).",
        ))
        .min_length(Some(5))
        .max_length(Some(EMAIL_MAX))
        .pattern(Some(email_pattern()))
        .into()
}

/// The pattern of [`email`].
fn email_pattern() -> String {
    let space = WHITESPACE_CLASS;
    let inner = format!("[^@{space}{NAME_FORBIDDEN_CLASS}]");
    let edge = format!("[^@.{space}{NAME_FORBIDDEN_CLASS}]");
    format!("^[{space}]*{inner}+@{edge}{inner}*\\.{inner}*{edge}[{space}]*$")
}

/// A name as the service checks it ([`crate::domain::input::name`]): at most `max` characters
/// as sent, at least one of them not a space, none a control or invisible formatting character
/// (a tab or line break may only surround it).
fn name(max: usize) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(format!(
            "At most {max} characters, at least one of them not a space; no control or \
             invisible formatting characters (surrounding spaces are trimmed)."
        )))
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(name_pattern()))
        .into()
}

/// The pattern of [`name`]: spaces around a text that starts and ends with something else and
/// holds no control or invisible formatting character (spaces inside it may not be tabs or line
/// breaks, which are control characters).
fn name_pattern() -> String {
    let (space, forbidden) = (WHITESPACE_CLASS, NAME_FORBIDDEN_CLASS);
    let edge = format!("[^{space}{forbidden}]");
    format!("^[{space}]*{edge}(?:[^{forbidden}]*{edge})?[{space}]*$")
}

/// A customer's name.
pub fn customer_name() -> Schema {
    name(CUSTOMER_NAME_MAX)
}

/// A user's display name.
pub fn display_name() -> Schema {
    name(DISPLAY_NAME_MAX)
}

/// A webhook URL: `http://` or `https://` (any case) followed directly by a host.
pub fn webhook_url() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::Custom("uri".to_owned())))
        .description(Some(
            "`https://` (or `http://`) URL that receives each event as a JSON POST. Its host must \
             be, and resolve to, public internet addresses (`webhook_url_not_allowed` otherwise).",
        ))
        .min_length(Some("http://x".len()))
        .max_length(Some(MAX_URL_LENGTH))
        .pattern(Some(r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^/?#\s]"))
        .into()
}

/// `Idempotency-Key`: 1 to 255 visible ASCII characters.
pub fn idempotency_key() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_KEY_LEN))
        .pattern(Some("^[!-~]+$"))
        .into()
}

/// `If-Match`: `*`, or a comma-separated list of entity tags (`"…"` or `W/"…"`) as `ETag` gives
/// them; what follows a `*` is not read.
pub fn if_match() -> Schema {
    const TAG: &str = r#"(W/)?"[^,]*""#;
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!(
            r"^[ \t]*({TAG}[ \t]*,[ \t]*)*(\*[ \t]*(,.*)?|{TAG}[ \t]*)$"
        )))
        .into()
}

/// States the header rules on every operation that reads the headers.
pub struct HeaderRules;

impl Modify for HeaderRules {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.post, &mut item.put, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                for parameter in operation.parameters.iter_mut().flatten() {
                    let RefOr::T(parameter) = parameter else {
                        continue;
                    };
                    let schema = match parameter.name.as_str() {
                        "Idempotency-Key" => idempotency_key(),
                        "If-Match" => if_match(),
                        _ => continue,
                    };
                    parameter.schema = Some(schema.into());
                }
            }
        }
    }
}

/// States the accepted years on every date and timestamp a request body carries (responses keep
/// the plain format: a term may end after 2999).
pub struct DateBounds;

impl Modify for DateBounds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let bodies = request_body_schemas(openapi);
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for name in bodies {
            let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut(&name) else {
                continue;
            };
            for property in body.properties.values_mut() {
                let RefOr::T(Schema::Object(field)) = property else {
                    continue;
                };
                let dated = matches!(
                    field.format,
                    Some(SchemaFormat::KnownFormat(
                        KnownFormat::Date | KnownFormat::DateTime
                    ))
                );
                if dated {
                    field.pattern = Some(YEAR_RANGE.to_owned());
                }
            }
        }
    }
}

/// The names of the component schemas that operations take as request bodies.
fn request_body_schemas(openapi: &utoipa::openapi::OpenApi) -> Vec<String> {
    let prefix = "#/components/schemas/";
    let mut names = Vec::new();
    for item in openapi.paths.paths.values() {
        let operations = [&item.post, &item.put, &item.patch];
        for operation in operations.into_iter().flatten() {
            let bodies = operation.request_body.iter().filter_map(inline);
            let contents = bodies.flat_map(|body| body.content.values().filter_map(inline));
            for content in contents {
                if let Some(RefOr::Ref(reference)) = &content.schema
                    && let Some(name) = reference.ref_location.strip_prefix(prefix)
                {
                    names.push(name.to_owned());
                }
            }
        }
    }
    names
}

/// The item itself, unless it is a reference.
fn inline<T>(item: &RefOr<T>) -> Option<&T> {
    match item {
        RefOr::T(item) => Some(item),
        RefOr::Ref(_) => None,
    }
}

#[cfg(test)]
mod tests;
