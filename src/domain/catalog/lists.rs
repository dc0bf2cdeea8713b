//! The catalog's closed lists, as the migrations create them: the OpenAPI document states them as
//! enums, so that a client can check a code before sending it. The catalog itself is loaded from
//! Postgres; a test (`tests/api/catalog.rs`) fails when the migrated catalog and these lists
//! differ, so a migration that changes the catalog changes these lists with it.

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// Every market code, in code order.
pub const MARKET_CODES: [&str; 3] = ["IN", "IT", "US"];

/// Every service code an offer includes, in code order.
pub const SERVICE_CODES: [&str; 14] = [
    "AUDIO_CONFERENCING",
    "BOOKINGS",
    "DEFENDER_BUSINESS",
    "ENTRA_ID_P1",
    "EXCHANGE",
    "EXCHANGE_ARCHIVING",
    "INTUNE",
    "OFFICE_DESKTOP",
    "OFFICE_WEB",
    "ONEDRIVE",
    "POWER_BI_PRO",
    "SHAREPOINT",
    "TEAMS",
    "TEAMS_PHONE",
];

/// Every base offer (bought on its own), in display order.
pub const BASE_OFFER_IDS: [&str; 11] = [
    "m365-apps-business",
    "m365-business-basic",
    "m365-business-standard",
    "m365-business-premium",
    "m365-apps-enterprise",
    "o365-e1",
    "o365-e3",
    "o365-e5",
    "m365-apps-business-india",
    "m365-business-basic-india",
    "m365-business-standard-india",
];

/// Every add-on offer (attached to a base subscription), in display order.
pub const ADD_ON_OFFER_IDS: [&str; 2] = ["teams-audio-conferencing", "exchange-online-archiving"];

/// A string schema listing exactly `values`.
pub fn string_enum<'a>(description: &str, values: impl IntoIterator<Item = &'a str>) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values))
        .into()
}

/// Declares a named schema (a component) whose body `schema` builds.
macro_rules! named_schema {
    ($(#[$doc:meta])* $name:ident => $schema:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::RefOr::T($schema)
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

pub(crate) use named_schema;

named_schema!(
    /// A market code of the catalog.
    MarketCode => string_enum("A market of the catalog.", MARKET_CODES)
);

named_schema!(
    /// A service code some offer of the catalog includes.
    ServiceCode => string_enum("A service some offer of the catalog includes.", SERVICE_CODES)
);

named_schema!(
    /// Any offer id of the catalog, base or add-on.
    OfferId => string_enum(
        "An offer of the catalog (a base offer or an add-on).",
        BASE_OFFER_IDS.into_iter().chain(ADD_ON_OFFER_IDS),
    )
);

named_schema!(
    /// A base offer id of the catalog.
    BaseOfferId => string_enum("A base offer of the catalog (bought on its own).", BASE_OFFER_IDS)
);

named_schema!(
    /// An add-on offer id of the catalog.
    AddOnOfferId => string_enum("An add-on offer of the catalog.", ADD_ON_OFFER_IDS)
);
