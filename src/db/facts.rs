//! The facts of an upgrade: the customer's row of `customer_facts` (docs/performance.md), as
//! stored (and refilled first when a write has dropped it) for the eligibility listing and the
//! recommendations; as stored or, when the transaction has changed the customer, built now,
//! under the caller's locks, for the upgrade itself; plus the sources (one subscription, or every
//! active one the partner sold the customer). One statement each way, and one mapping from the
//! customer-wide row to what one partner may see of its sources.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use super::licenses::{AssignmentRow, HolderRow};
use super::subscriptions::SubscriptionFactsRow;
use crate::domain::commerce::SeatWindows;
use crate::domain::ids::{CustomerId, PartnerId, SubscriptionId, UserId};
use crate::domain::plan::{Commerce, TermDuration};
use crate::domain::records::{RelationshipStatus, Subscription};
use crate::domain::subscription::{BillingCycle, Channel, SubscriptionStatus};

/// A delegated admin relationship as the eligibility rules read it. Its times come as
/// microseconds since the epoch where it is read from JSON, which decode whatever the year
/// (Postgres writes years outside 1..=9999 in JSON in forms no RFC 3339 reader reads back).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct RightsRow {
    pub status: RelationshipStatus,
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub starts_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub ends_at: DateTime<Utc>,
    pub all_services: bool,
    pub services: Vec<String>,
}

/// Everything an upgrade evaluation reads, fetched in one round trip.
#[derive(Debug, Clone)]
pub struct FactsRow {
    pub market_code: String,
    /// The source, when this partner sold it to the customer.
    pub source: Option<Subscription>,
    /// Every subscription of the customer, every channel and status, the source included.
    pub subscriptions: Vec<SubscriptionFactsRow>,
    /// The partner's delegated admin relationships with the customer.
    pub rights: Vec<RightsRow>,
    /// Active add-ons of the source.
    pub add_ons: i64,
    /// Holders of a license from the source, in license order.
    pub holders: Vec<HolderRow>,
    /// Every license of the customer: what the holders have elsewhere is read from them.
    pub assignments: Vec<AssignmentRow>,
}

/// A holder of a license from one of the sources.
#[derive(Debug, Clone)]
pub struct SourceHolderRow {
    pub subscription_id: SubscriptionId,
    pub holder: HolderRow,
}

/// Everything the upgrade evaluations of a customer's subscriptions read, in one round trip.
#[derive(Debug, Clone)]
pub struct CustomerFactsRow {
    pub market_code: String,
    /// The active subscriptions the partner sold the customer, in id order: the sources.
    pub sources: Vec<Subscription>,
    /// Every subscription of the customer, every channel and status, the sources included.
    pub subscriptions: Vec<SubscriptionFactsRow>,
    /// The partner's delegated admin relationships with the customer.
    pub rights: Vec<RightsRow>,
    /// How many active add-ons each subscription has (only those with some).
    pub add_ons: BTreeMap<SubscriptionId, i64>,
    /// Holders of a license from each source, by source, each source's in license order.
    pub holders: Vec<SourceHolderRow>,
    /// Every license of the customer: what the holders have elsewhere is read from them.
    pub assignments: Vec<AssignmentRow>,
}

/// Where the customer's facts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// A read of its own: the stored row, one index lookup. A write drops it at commit; the
    /// first read to miss it builds and stores it again, so it is never older than the last
    /// commit.
    Stored,
    /// A read in a write's transaction, under its locks: the stored row, unless this
    /// transaction has changed the customer's tables (then older than what it sees) or a write
    /// has dropped it; otherwise built now from the tables, as this transaction sees them.
    /// Never stores anything.
    Locked,
}

/// The customer's `customer_facts` row and the sources. Each list is one array per column,
/// which Postgres sends and the service decodes for a fraction of the cost of JSON.
#[derive(sqlx::FromRow)]
struct CustomerRecord {
    market_code: String,
    /// The sources, in id order: the one source when the partner sold it to the customer, or
    /// every active subscription the partner sold it.
    sources: Vec<SourceRecord>,
    subscription_ids: Vec<SubscriptionId>,
    subscription_offers: Vec<String>,
    subscription_statuses: Vec<SubscriptionStatus>,
    subscription_quantities: Vec<i32>,
    subscription_channels: Vec<Channel>,
    subscription_partners: Vec<Option<PartnerId>>,
    right_partners: Vec<PartnerId>,
    right_statuses: Vec<RelationshipStatus>,
    right_starts: Vec<DateTime<Utc>>,
    right_ends: Vec<DateTime<Utc>>,
    right_all_services: Vec<bool>,
    right_services: Vec<String>,
    add_on_subscriptions: Vec<SubscriptionId>,
    license_users: Vec<UserId>,
    license_subscriptions: Vec<SubscriptionId>,
    license_assigned: Vec<DateTime<Utc>>,
    license_names: Vec<String>,
    license_emails: Vec<String>,
    license_disabled: Vec<String>,
}

/// One source as the facts statements send it: a value of the composite type
/// `subscription_record` (migration `20261213090000`), decoded field by field in Postgres's
/// binary format, at about a third of what its JSON cost. A named type, not an anonymous `ROW`:
/// a Citus coordinator cannot read an anonymous record back from a worker.
#[derive(sqlx::Type)]
#[sqlx(type_name = "subscription_record")]
struct SourceRecord {
    id: SubscriptionId,
    customer_id: CustomerId,
    offer_id: String,
    channel: Channel,
    partner_id: Option<PartnerId>,
    quantity: i32,
    status: SubscriptionStatus,
    billing_cycle: BillingCycle,
    term_start: NaiveDate,
    term_end: NaiveDate,
    current_period_start: NaiveDate,
    current_period_end: NaiveDate,
    upgraded_to_id: Option<SubscriptionId>,
    upgraded_from_id: Option<SubscriptionId>,
    version: i64,
    auto_renew: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    commerce: Commerce,
    term_duration: TermDuration,
    unit_price_minor: Option<i64>,
    cancellation_window_ends_at: Option<DateTime<Utc>>,
    seat_windows: SeatWindows,
    migrated_from_id: Option<SubscriptionId>,
}

/// A [`SourceRecord`] of the subscription `s`, its fields in the type's order.
macro_rules! source_row {
    () => {
        "ROW(s.id, s.customer_id, s.offer_id, s.channel, s.partner_id, s.quantity, s.status,
             s.billing_cycle, s.term_start, s.term_end, s.current_period_start,
             s.current_period_end, s.upgraded_to_id, s.upgraded_from_id, s.version, s.auto_renew,
             s.created_at, s.updated_at, s.commerce, s.term_duration, s.unit_price_minor,
             s.cancellation_window_ends_at, s.seat_windows, s.migrated_from_id
            )::subscription_record"
    };
}

impl From<SourceRecord> for Subscription {
    fn from(r: SourceRecord) -> Self {
        Subscription {
            id: r.id,
            customer_id: r.customer_id,
            offer_id: r.offer_id,
            channel: r.channel,
            partner_id: r.partner_id,
            quantity: r.quantity,
            status: r.status,
            billing_cycle: r.billing_cycle,
            term_start: r.term_start,
            term_end: r.term_end,
            current_period_start: r.current_period_start,
            current_period_end: r.current_period_end,
            upgraded_to_id: r.upgraded_to_id,
            upgraded_from_id: r.upgraded_from_id,
            version: r.version,
            auto_renew: r.auto_renew,
            created_at: r.created_at,
            updated_at: r.updated_at,
            commerce: r.commerce,
            term_duration: r.term_duration,
            unit_price: r.unit_price_minor,
            cancellation_window_ends_at: r.cancellation_window_ends_at,
            seat_windows: r.seat_windows,
            migrated_from_id: r.migrated_from_id,
        }
    }
}

/// The facts statement of which of the partner's subscriptions of the customer are the sources
/// (`one`: `$3`; `active`: every active one) over where the row comes from (`stored`: the table;
/// `locked`: the table, unless this transaction changed the customer or a write dropped the row,
/// otherwise built now, in one round trip: the append runs its branches in order and the limit
/// stops it at the first row, so the function runs only when the table has none; `live`: the
/// function that builds it now): one statement per pair, so that each keeps one
/// cached plan (a single statement choosing by a parameter was planned anew on every call, which
/// cost more than running it).
macro_rules! facts_statement {
    (one, $from:ident) => {
        facts_statement!(@from $from, "s.id = $3")
    };
    (active, $from:ident) => {
        facts_statement!(@from $from, "s.status = 'active'")
    };
    (@from stored, $sources:literal) => {
        facts_statement!(@sql $sources, "customer_facts f WHERE f.customer_id = $1 AND")
    };
    (@from locked, $sources:literal) => {
        facts_statement!(@sql $sources, "(SELECT * FROM customer_facts f
                    WHERE f.customer_id = $1 AND NOT customer_facts_mine($1::uuid)
                   UNION ALL
                   SELECT * FROM customer_facts_of(ARRAY[$1::uuid])
                   LIMIT 1) f
             WHERE")
    };
    (@from live, $sources:literal) => {
        facts_statement!(@sql $sources, "customer_facts_of(ARRAY[$1::uuid]) f WHERE")
    };
    (@sql $sources:literal, $from:literal) => {
        concat!(
            "SELECT f.market_code,
                    (SELECT coalesce(array_agg(", source_row!(), " ORDER BY s.id), '{}')
                     FROM subscriptions s
                     WHERE s.customer_id = $1 AND s.channel = 'partner' AND s.partner_id = $2
                       AND ",
            $sources,
            ") AS sources,
                    f.subscription_ids, f.subscription_offers, f.subscription_statuses,
                    f.subscription_quantities, f.subscription_channels, f.subscription_partners,
                    f.right_partners, f.right_statuses, f.right_starts, f.right_ends,
                    f.right_all_services, f.right_services, f.add_on_subscriptions,
                    f.license_users, f.license_subscriptions, f.license_assigned, f.license_names,
                    f.license_emails, f.license_disabled
             FROM ",
            $from,
            " $2 = ANY (f.partners)"
        )
    };
}

const ONE_STORED: &str = facts_statement!(one, stored);
const ONE_LOCKED: &str = facts_statement!(one, locked);
const ONE_LIVE: &str = facts_statement!(one, live);
const ACTIVE_STORED: &str = facts_statement!(active, stored);
const ACTIVE_LIVE: &str = facts_statement!(active, live);

/// The facts of an upgrade of `subscription_id`, or `None` when the customer is not this
/// partner's.
pub async fn facts(
    conn: &mut PgConnection,
    freshness: Freshness,
    partner_id: PartnerId,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
) -> Result<Option<FactsRow>, sqlx::Error> {
    let read = Read {
        customer_id,
        partner_id,
        source: Some(subscription_id),
    };
    let record = match freshness {
        Freshness::Stored => read.stored(conn, ONE_STORED, ONE_LIVE).await?,
        Freshness::Locked => read.fetch(conn, ONE_LOCKED).await?,
    };
    Ok(record.map(|record| record.for_source(partner_id, subscription_id)))
}

/// The facts of upgrading each active subscription the partner sold the customer, from the
/// stored row, or `None` when the customer is not this partner's.
pub async fn customer_facts(
    conn: &mut PgConnection,
    partner_id: PartnerId,
    customer_id: CustomerId,
) -> Result<Option<CustomerFactsRow>, sqlx::Error> {
    let read = Read {
        customer_id,
        partner_id,
        source: None,
    };
    let record = read.stored(conn, ACTIVE_STORED, ACTIVE_LIVE).await?;
    Ok(record.map(|record| record.for_sources(partner_id)))
}

/// One read of a customer's facts, with its statements' parameters.
struct Read {
    customer_id: CustomerId,
    partner_id: PartnerId,
    source: Option<SubscriptionId>,
}

impl Read {
    /// The stored row and the sources, read in one snapshot. When a write has dropped the row
    /// (or the customer is not the partner's), the row is refilled and read again; when a write
    /// drops it again meanwhile, the facts are built live, which is also what tells that the
    /// customer is not the partner's.
    async fn stored(
        &self,
        conn: &mut PgConnection,
        stored: &'static str,
        live: &'static str,
    ) -> Result<Option<CustomerRecord>, sqlx::Error> {
        if let Some(record) = self.fetch(conn, stored).await? {
            return Ok(Some(record));
        }
        sqlx::query("SELECT refill_customer_facts($1)")
            .bind(self.customer_id)
            .execute(&mut *conn)
            .await?;
        if let Some(record) = self.fetch(conn, stored).await? {
            return Ok(Some(record));
        }
        self.fetch(conn, live).await
    }

    async fn fetch(
        &self,
        conn: &mut PgConnection,
        statement: &'static str,
    ) -> Result<Option<CustomerRecord>, sqlx::Error> {
        let query = sqlx::query_as(statement)
            .bind(self.customer_id)
            .bind(self.partner_id);
        let query = match self.source {
            Some(source) => query.bind(source),
            None => query,
        };
        query.fetch_optional(conn).await
    }
}

/// `EXCHANGE,BOOKINGS` as its codes; the empty string as none.
fn codes(joined: String) -> Vec<String> {
    joined
        .split(',')
        .filter(|code| !code.is_empty())
        .map(str::to_owned)
        .collect()
}

impl CustomerRecord {
    /// What `partner_id` may see of the customer, for an upgrade of `source`.
    fn for_source(mut self, partner_id: PartnerId, source_id: SubscriptionId) -> FactsRow {
        let add_ons = (self.add_on_subscriptions.iter())
            .filter(|id| **id == source_id)
            .count();
        let rights = self.rights_of(partner_id);
        let subscriptions = self.subscriptions();
        let market_code = std::mem::take(&mut self.market_code);
        let source = self.sources.pop().map(Subscription::from);
        let (holders, assignments) = self.licenses(|id| id == source_id);
        FactsRow {
            market_code,
            source,
            subscriptions,
            rights,
            add_ons: i64::try_from(add_ons).unwrap_or(i64::MAX),
            holders: holders.into_iter().map(|h| h.holder).collect(),
            assignments,
        }
    }

    /// What `partner_id` may see of the customer, for an upgrade of each of the sources.
    fn for_sources(mut self, partner_id: PartnerId) -> CustomerFactsRow {
        let mut add_ons = BTreeMap::<SubscriptionId, i64>::new();
        for id in &self.add_on_subscriptions {
            *add_ons.entry(*id).or_default() += 1;
        }
        let rights = self.rights_of(partner_id);
        let subscriptions = self.subscriptions();
        let market_code = std::mem::take(&mut self.market_code);
        let sources: Vec<Subscription> = (std::mem::take(&mut self.sources).into_iter())
            .map(Subscription::from)
            .collect();
        let (holders, assignments) =
            self.licenses(|id| sources.binary_search_by_key(&id, |s| s.id).is_ok());
        CustomerFactsRow {
            market_code,
            sources,
            subscriptions,
            rights,
            add_ons,
            holders,
            assignments,
        }
    }

    fn subscriptions(&mut self) -> Vec<SubscriptionFactsRow> {
        (std::mem::take(&mut self.subscription_ids).into_iter())
            .zip(std::mem::take(&mut self.subscription_offers))
            .zip(std::mem::take(&mut self.subscription_statuses))
            .zip(std::mem::take(&mut self.subscription_quantities))
            .zip(std::mem::take(&mut self.subscription_channels))
            .zip(std::mem::take(&mut self.subscription_partners))
            .map(
                |(((((id, offer_id), status), quantity), channel), partner_id)| {
                    SubscriptionFactsRow {
                        id,
                        offer_id,
                        status,
                        quantity,
                        channel,
                        partner_id,
                    }
                },
            )
            .collect()
    }

    /// The partner's own relationships, in id order.
    fn rights_of(&mut self, partner_id: PartnerId) -> Vec<RightsRow> {
        (self.right_partners.iter())
            .zip(std::mem::take(&mut self.right_statuses))
            .zip(&self.right_starts)
            .zip(&self.right_ends)
            .zip(&self.right_all_services)
            .zip(std::mem::take(&mut self.right_services))
            .filter(|(((((partner, _), _), _), _), _)| **partner == partner_id)
            .map(
                |(((((_, status), starts_at), ends_at), all_services), services)| RightsRow {
                    status,
                    starts_at: *starts_at,
                    ends_at: *ends_at,
                    all_services: *all_services,
                    services: codes(services),
                },
            )
            .collect()
    }

    /// The holders of a license from a source (by source, each source's in the order they were
    /// licensed) and every license.
    fn licenses(
        self,
        is_source: impl Fn(SubscriptionId) -> bool,
    ) -> (Vec<SourceHolderRow>, Vec<AssignmentRow>) {
        let mut holders = Vec::new();
        let mut assignments = Vec::with_capacity(self.license_users.len());
        let licenses = (self.license_users.into_iter())
            .zip(self.license_subscriptions)
            .zip(self.license_assigned)
            .zip(self.license_names)
            .zip(self.license_emails)
            .zip(self.license_disabled);
        for (((((user_id, subscription_id), assigned_at), display_name), email), disabled) in
            licenses
        {
            let disabled_services = codes(disabled);
            if is_source(subscription_id) {
                holders.push(SourceHolderRow {
                    subscription_id,
                    holder: HolderRow {
                        user_id,
                        display_name,
                        email,
                        assigned_at,
                        disabled_services: disabled_services.clone(),
                    },
                });
            }
            assignments.push(AssignmentRow {
                user_id,
                subscription_id,
                disabled_services,
            });
        }
        holders.sort_by_key(|h| (h.subscription_id, h.holder.assigned_at, h.holder.user_id));
        (holders, assignments)
    }
}
