//! The catalog's closed lists, as the migrations create them: the OpenAPI document states them as
//! enums, so that a client can check a code before sending it. The catalog itself is loaded from
//! Postgres; a test (`tests/api/catalog.rs`) fails when the migrated catalog and these lists
//! differ, so a migration that changes the catalog changes these lists with it.

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
