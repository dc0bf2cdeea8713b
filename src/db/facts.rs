//! The facts of an upgrade: the customer's row of `customer_facts` (docs/performance.md), as
//! stored (and refilled first when a write has dropped it) for the eligibility listing and the
//! recommendations; as stored or, when the transaction has changed the customer, built now,
//! under the caller's locks, for the upgrade itself; plus the sources (one subscription, or every
//! active one the partner sold the customer). One statement each way, and one mapping from the
//! customer-wide row to what one partner may see of its sources.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

mod array;

use array::{Array, Element};

use super::licenses::{AssignmentRow, HolderRow};
use super::subscriptions::SubscriptionFactsRow;
use crate::domain::commerce::SeatWindows;
use crate::domain::ids::{CustomerId, PartnerId, SubscriptionId};
use crate::domain::plan::{Commerce, TermDuration};
use crate::domain::records::{RelationshipStatus, Subscription};
use crate::domain::subscription::{BillingCycle, Channel, SubscriptionStatus};

type Error = Box<dyn std::error::Error + Send + Sync>;

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

/// The customer's `customer_facts` row and the sources. Each list is one array per column, read
/// in place ([`array`]): an element is decoded only where the mapping keeps it.
struct CustomerRecord<'r> {
    market_code: String,
    /// The sources, in id order: the one source when the partner sold it to the customer, or
    /// every active subscription the partner sold it.
    sources: Vec<SourceRecord>,
    subscription_ids: Array<'r>,
    subscription_offers: Array<'r>,
    subscription_statuses: Array<'r>,
    subscription_quantities: Array<'r>,
    subscription_channels: Array<'r>,
    subscription_partners: Array<'r>,
    right_partners: Array<'r>,
    right_statuses: Array<'r>,
    right_starts: Array<'r>,
    right_ends: Array<'r>,
    right_all_services: Array<'r>,
    right_services: Array<'r>,
    add_on_subscriptions: Array<'r>,
    license_users: Array<'r>,
    license_subscriptions: Array<'r>,
    license_assigned: Array<'r>,
    license_names: Array<'r>,
    license_emails: Array<'r>,
    license_disabled: Array<'r>,
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
    let row = match freshness {
        Freshness::Stored => read.stored(conn, ONE_STORED, ONE_LIVE).await?,
        Freshness::Locked => read.fetch(conn, ONE_LOCKED).await?,
    };
    row.map(|row| CustomerRecord::read(&row)?.for_source(partner_id, subscription_id))
        .transpose()
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
    let row = read.stored(conn, ACTIVE_STORED, ACTIVE_LIVE).await?;
    row.map(|row| CustomerRecord::read(&row)?.for_sources(partner_id))
        .transpose()
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
    ) -> Result<Option<PgRow>, sqlx::Error> {
        if let Some(row) = self.fetch(conn, stored).await? {
            return Ok(Some(row));
        }
        sqlx::query("SELECT refill_customer_facts($1)")
            .bind(self.customer_id)
            .execute(&mut *conn)
            .await?;
        if let Some(row) = self.fetch(conn, stored).await? {
            return Ok(Some(row));
        }
        self.fetch(conn, live).await
    }

    async fn fetch(
        &self,
        conn: &mut PgConnection,
        statement: &'static str,
    ) -> Result<Option<PgRow>, sqlx::Error> {
        let query = sqlx::query(statement)
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
fn codes(joined: &str) -> Vec<String> {
    joined
        .split(',')
        .filter(|code| !code.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A text element holding one of `T`'s names.
fn name<T>(element: Option<&[u8]>, parse: fn(&str) -> Option<T>) -> Result<T, Error> {
    let name = array::text(element)?;
    parse(name).ok_or_else(|| format!("{name:?} is not a {}", std::any::type_name::<T>()).into())
}

/// The length shared by the arrays of one list, which Postgres aggregated side by side.
fn list_length(list: &str, arrays: &[&Array<'_>]) -> Result<usize, Error> {
    let len = arrays.first().map_or(0, |array| array.len());
    if arrays.iter().any(|array| array.len() != len) {
        return Err(format!("the arrays of the {list} differ in length").into());
    }
    Ok(len)
}

impl<'r> CustomerRecord<'r> {
    /// The row's columns, the arrays' framing checked.
    fn read(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        let array = |column, element| Array::column(row, column, element);
        Ok(CustomerRecord {
            market_code: row.try_get("market_code")?,
            sources: row.try_get("sources")?,
            subscription_ids: array("subscription_ids", Element::Uuid)?,
            subscription_offers: array("subscription_offers", Element::Text)?,
            subscription_statuses: array("subscription_statuses", Element::Text)?,
            subscription_quantities: array("subscription_quantities", Element::Int4)?,
            subscription_channels: array("subscription_channels", Element::Text)?,
            subscription_partners: array("subscription_partners", Element::Uuid)?,
            right_partners: array("right_partners", Element::Uuid)?,
            right_statuses: array("right_statuses", Element::Text)?,
            right_starts: array("right_starts", Element::Timestamptz)?,
            right_ends: array("right_ends", Element::Timestamptz)?,
            right_all_services: array("right_all_services", Element::Bool)?,
            right_services: array("right_services", Element::Text)?,
            add_on_subscriptions: array("add_on_subscriptions", Element::Uuid)?,
            license_users: array("license_users", Element::Uuid)?,
            license_subscriptions: array("license_subscriptions", Element::Uuid)?,
            license_assigned: array("license_assigned", Element::Timestamptz)?,
            license_names: array("license_names", Element::Text)?,
            license_emails: array("license_emails", Element::Text)?,
            license_disabled: array("license_disabled", Element::Text)?,
        })
    }

    /// What `partner_id` may see of the customer, for an upgrade of `source`.
    fn for_source(
        mut self,
        partner_id: PartnerId,
        source_id: SubscriptionId,
    ) -> Result<FactsRow, sqlx::Error> {
        let source_bytes = source_id.as_uuid();
        let source_bytes = Some(&source_bytes.as_bytes()[..]);
        let add_ons = (self.add_on_subscriptions.iter())
            .filter(|id| *id == source_bytes)
            .count();
        let source = self.sources.pop().map(Subscription::from);
        let (holders, assignments) = self.licenses(|id| id == source_bytes)?;
        Ok(FactsRow {
            source,
            subscriptions: self.subscriptions()?,
            rights: self.rights_of(partner_id)?,
            add_ons: i64::try_from(add_ons).unwrap_or(i64::MAX),
            holders: holders.into_iter().map(|h| h.holder).collect(),
            assignments,
            market_code: self.market_code,
        })
    }

    /// What `partner_id` may see of the customer, for an upgrade of each of the sources.
    fn for_sources(mut self, partner_id: PartnerId) -> Result<CustomerFactsRow, sqlx::Error> {
        let mut add_ons = BTreeMap::<SubscriptionId, i64>::new();
        for id in self.add_on_subscriptions.iter() {
            let id = array::uuid(id).map_err(sqlx::Error::Decode)?;
            *add_ons.entry(id.into()).or_default() += 1;
        }
        let sources: Vec<Subscription> = (std::mem::take(&mut self.sources).into_iter())
            .map(Subscription::from)
            .collect();
        let is_source = |id: Option<&[u8]>| {
            let id = id.and_then(|id| <[u8; 16]>::try_from(id).ok());
            id.is_some_and(|id| {
                let id = SubscriptionId::from(Uuid::from_bytes(id));
                sources.binary_search_by_key(&id, |s| s.id).is_ok()
            })
        };
        let (holders, assignments) = self.licenses(is_source)?;
        Ok(CustomerFactsRow {
            subscriptions: self.subscriptions()?,
            rights: self.rights_of(partner_id)?,
            market_code: self.market_code,
            sources,
            add_ons,
            holders,
            assignments,
        })
    }

    fn subscriptions(&self) -> Result<Vec<SubscriptionFactsRow>, sqlx::Error> {
        let columns = [
            &self.subscription_ids,
            &self.subscription_offers,
            &self.subscription_statuses,
            &self.subscription_quantities,
            &self.subscription_channels,
            &self.subscription_partners,
        ];
        let decode = || {
            let mut rows = Vec::with_capacity(list_length("subscriptions", &columns)?);
            let subscriptions = (self.subscription_ids.iter())
                .zip(self.subscription_offers.iter())
                .zip(self.subscription_statuses.iter())
                .zip(self.subscription_quantities.iter())
                .zip(self.subscription_channels.iter())
                .zip(self.subscription_partners.iter());
            for (((((id, offer), status), quantity), channel), partner) in subscriptions {
                rows.push(SubscriptionFactsRow {
                    id: array::uuid(id)?.into(),
                    offer_id: array::text(offer)?.to_owned(),
                    status: name(status, SubscriptionStatus::parse)?,
                    quantity: array::int4(quantity)?,
                    channel: name(channel, Channel::parse)?,
                    partner_id: array::optional_uuid(partner)?.map(PartnerId::from),
                });
            }
            Ok(rows)
        };
        decode().map_err(sqlx::Error::Decode)
    }

    /// The partner's own relationships, in id order.
    fn rights_of(&self, partner_id: PartnerId) -> Result<Vec<RightsRow>, sqlx::Error> {
        let columns = [
            &self.right_partners,
            &self.right_statuses,
            &self.right_starts,
            &self.right_ends,
            &self.right_all_services,
            &self.right_services,
        ];
        let partner = partner_id.as_uuid();
        let partner = Some(&partner.as_bytes()[..]);
        let decode = || {
            list_length("relationships", &columns)?;
            let rights = (self.right_partners.iter())
                .zip(self.right_statuses.iter())
                .zip(self.right_starts.iter())
                .zip(self.right_ends.iter())
                .zip(self.right_all_services.iter())
                .zip(self.right_services.iter());
            let mut rows = Vec::new();
            for (((((of, status), starts_at), ends_at), all_services), services) in rights {
                if of != partner {
                    continue;
                }
                rows.push(RightsRow {
                    status: name(status, RelationshipStatus::parse)?,
                    starts_at: array::timestamptz(starts_at)?,
                    ends_at: array::timestamptz(ends_at)?,
                    all_services: array::boolean(all_services)?,
                    services: codes(array::text(services)?),
                });
            }
            Ok(rows)
        };
        decode().map_err(sqlx::Error::Decode)
    }

    /// The holders of a license from a source (by source, each source's in the order they were
    /// licensed) and every license: names and e-mails are decoded for the holders only.
    fn licenses(
        &self,
        is_source: impl Fn(Option<&[u8]>) -> bool,
    ) -> Result<(Vec<SourceHolderRow>, Vec<AssignmentRow>), sqlx::Error> {
        let columns = [
            &self.license_users,
            &self.license_subscriptions,
            &self.license_assigned,
            &self.license_names,
            &self.license_emails,
            &self.license_disabled,
        ];
        let decode = || {
            let mut holders = Vec::new();
            let mut assignments = Vec::with_capacity(list_length("licenses", &columns)?);
            let licenses = (self.license_users.iter())
                .zip(self.license_subscriptions.iter())
                .zip(self.license_assigned.iter())
                .zip(self.license_names.iter())
                .zip(self.license_emails.iter())
                .zip(self.license_disabled.iter());
            for (((((user, subscription), assigned_at), name), email), disabled) in licenses {
                let user_id = array::uuid(user)?.into();
                let subscription_id = array::uuid(subscription)?.into();
                let disabled_services = codes(array::text(disabled)?);
                if is_source(subscription) {
                    holders.push(SourceHolderRow {
                        subscription_id,
                        holder: HolderRow {
                            user_id,
                            display_name: array::text(name)?.to_owned(),
                            email: array::text(email)?.to_owned(),
                            assigned_at: array::timestamptz(assigned_at)?,
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
            Ok((holders, assignments))
        };
        decode().map_err(sqlx::Error::Decode)
    }
}
