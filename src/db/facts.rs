//! The facts of an upgrade: the customer's row of `customer_facts` (docs/performance.md), as
//! stored (and refilled first when a write has dropped it) for the eligibility listing and the
//! recommendations; as stored or, when the transaction has changed the customer, built now,
//! under the caller's locks, for the upgrade itself. The row is one value, the facts' arrays in
//! Postgres's binary form one after another (migration `20261214090000`), the customer's
//! subscriptions among them as whole records: one index lookup and one value sent, and the
//! sources (one subscription, or every active one the partner sold the customer) are found among
//! the records here. One mapping from the customer-wide row to what one partner may see.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

mod binary;

use binary::{Array, Element};

use super::licenses::{AssignmentRow, HolderRow};
use super::subscriptions::SubscriptionFactsRow;
use crate::domain::commerce::SeatWindows;
use crate::domain::ids::{CustomerId, PartnerId, SubscriptionId};
use crate::domain::plan::{Commerce, TermDuration};
use crate::domain::records::{RelationshipStatus, Subscription};
use crate::domain::subscription::{BillingCycle, Channel, SubscriptionStatus};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// A delegated admin relationship as the eligibility rules read it.
#[derive(Debug, Clone)]
pub struct RightsRow {
    pub status: RelationshipStatus,
    pub starts_at: DateTime<Utc>,
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

/// The statements, each keeping one cached plan. `$1` the customer, `$2` the partner, who must
/// have a reseller relationship with it. `stored`: the table. `locked`: the table, unless this
/// transaction changed the customer or a write dropped the row, otherwise built now, in one round
/// trip (the append runs its branches in order and the limit stops it at the first row, so the
/// function runs only when the table has none). `live`: built now.
const STORED: &str = "SELECT f.market_code, f.facts FROM customer_facts f
                       WHERE f.customer_id = $1 AND $2 = ANY (f.partners)";
const LOCKED: &str = "SELECT f.market_code, f.facts
                        FROM (SELECT f.market_code, f.partners, f.facts FROM customer_facts f
                               WHERE f.customer_id = $1 AND NOT customer_facts_mine($1::uuid)
                              UNION ALL
                              SELECT l.market_code, l.partners, customer_facts_packed(l)
                                FROM customer_facts_of(ARRAY[$1::uuid]) l
                              LIMIT 1) f
                       WHERE $2 = ANY (f.partners)";
const LIVE: &str = "SELECT l.market_code, customer_facts_packed(l) AS facts
                      FROM customer_facts_of(ARRAY[$1::uuid]) l
                     WHERE $2 = ANY (l.partners)";

/// The facts of an upgrade of `subscription_id`, or `None` when the customer is not this
/// partner's. `wants_rest` is shown the source (`None` when the partner did not sell it) and says
/// whether the rest is decoded: when it says no, the row holds only the market and the source
/// (a listing of a source with no upgrade paths has nothing to evaluate).
pub async fn facts(
    conn: &mut PgConnection,
    freshness: Freshness,
    partner_id: PartnerId,
    (customer_id, subscription_id): (CustomerId, SubscriptionId),
    wants_rest: impl FnOnce(Option<&Subscription>) -> bool,
) -> Result<Option<FactsRow>, sqlx::Error> {
    let read = Read {
        customer_id,
        partner_id,
    };
    let row = match freshness {
        Freshness::Stored => read.stored(conn).await?,
        Freshness::Locked => read.fetch(conn, LOCKED).await?,
    };
    let Some(row) = row else {
        return Ok(None);
    };
    let packed = Packed::read(&row)?;
    packed
        .for_source(partner_id, subscription_id, wants_rest)
        .map(Some)
        .map_err(sqlx::Error::Decode)
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
    };
    let Some(row) = read.stored(conn).await? else {
        return Ok(None);
    };
    let packed = Packed::read(&row)?;
    packed
        .for_sources(partner_id)
        .map(Some)
        .map_err(sqlx::Error::Decode)
}

/// One read of a customer's facts, with its statements' parameters.
struct Read {
    customer_id: CustomerId,
    partner_id: PartnerId,
}

impl Read {
    /// The stored row. When a write has dropped it (or the customer is not the partner's), the
    /// row is refilled and read again; when a write drops it again meanwhile, the facts are
    /// built live, which is also what tells that the customer is not the partner's.
    async fn stored(&self, conn: &mut PgConnection) -> Result<Option<PgRow>, sqlx::Error> {
        if let Some(row) = self.fetch(conn, STORED).await? {
            return Ok(Some(row));
        }
        sqlx::query("SELECT refill_customer_facts($1)")
            .bind(self.customer_id)
            .execute(&mut *conn)
            .await?;
        if let Some(row) = self.fetch(conn, STORED).await? {
            return Ok(Some(row));
        }
        self.fetch(conn, LIVE).await
    }

    async fn fetch(
        &self,
        conn: &mut PgConnection,
        statement: &'static str,
    ) -> Result<Option<PgRow>, sqlx::Error> {
        sqlx::query(statement)
            .bind(self.customer_id)
            .bind(self.partner_id)
            .fetch_optional(conn)
            .await
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
    let name = binary::text(element)?;
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

/// The fields of `subscription_record` (migration `20261213090000`) that the rules read of every
/// subscription, in its order: id, customer, offer, channel, partner, quantity, status.
const SUBSCRIPTION_HEAD: [Element; 7] = [
    Element::Uuid,
    Element::Uuid,
    Element::Text,
    Element::Text,
    Element::Uuid,
    Element::Int4,
    Element::Text,
];

/// The other fields of `subscription_record`, read of a source only: billing cycle, the term's
/// and the period's dates, the upgrade links, version, auto-renewal, creation and change times,
/// commerce, term duration, unit price, cancellation window, seat windows, migration link.
const SUBSCRIPTION_TAIL: [Element; 17] = [
    Element::Text,
    Element::Date,
    Element::Date,
    Element::Date,
    Element::Date,
    Element::Uuid,
    Element::Uuid,
    Element::Int8,
    Element::Bool,
    Element::Timestamptz,
    Element::Timestamptz,
    Element::Text,
    Element::Text,
    Element::Int8,
    Element::Timestamptz,
    Element::Jsonb,
    Element::Uuid,
];

/// One subscription's record: the fields every subscription is read for, and the bytes of the
/// rest, all still in the row's buffer.
struct SubscriptionRecord<'r> {
    head: [Option<&'r [u8]>; 7],
    tail: &'r [u8],
}

impl<'r> SubscriptionRecord<'r> {
    fn read(element: Option<&'r [u8]>) -> Result<Self, Error> {
        let fields = SUBSCRIPTION_HEAD.len() + SUBSCRIPTION_TAIL.len();
        let (head, tail) = binary::record_head(element, fields, &SUBSCRIPTION_HEAD)?;
        Ok(SubscriptionRecord { head, tail })
    }

    fn id(&self) -> Option<&'r [u8]> {
        self.head[0]
    }

    /// Whether `partner` sold it (and so may upgrade it).
    fn sold_by(&self, partner: Option<&[u8]>) -> bool {
        self.head[3] == Some(Channel::Partner.as_str().as_bytes()) && self.head[4] == partner
    }

    fn is_active(&self) -> bool {
        self.head[6] == Some(SubscriptionStatus::Active.as_str().as_bytes())
    }

    /// What the rules read of every subscription of the customer.
    fn facts(&self) -> Result<SubscriptionFactsRow, Error> {
        let f = &self.head;
        Ok(SubscriptionFactsRow {
            id: binary::uuid(f[0])?.into(),
            offer_id: binary::text(f[2])?.to_owned(),
            channel: name(f[3], Channel::parse)?,
            partner_id: binary::optional_uuid(f[4])?.map(PartnerId::from),
            quantity: binary::int4(f[5])?,
            status: name(f[6], SubscriptionStatus::parse)?,
        })
    }

    /// The whole subscription: a source.
    fn subscription(&self) -> Result<Subscription, Error> {
        let (f, rest) = binary::fields(self.tail, &SUBSCRIPTION_TAIL)?;
        if !rest.is_empty() {
            return Err("bytes after a subscription record's last field".into());
        }
        let head = self.facts()?;
        let optional_id =
            |field| binary::optional_uuid(field).map(|id| id.map(SubscriptionId::from));
        let optional_time =
            |field: Option<&[u8]>| field.map(|at| binary::timestamptz(Some(at))).transpose();
        let seat_windows = serde_json::from_str(binary::jsonb(f[15])?).map(SeatWindows)?;
        Ok(Subscription {
            id: head.id,
            customer_id: binary::uuid(self.head[1])?.into(),
            offer_id: head.offer_id,
            channel: head.channel,
            partner_id: head.partner_id,
            quantity: head.quantity,
            status: head.status,
            billing_cycle: name(f[0], BillingCycle::parse)?,
            term_start: binary::date(f[1])?,
            term_end: binary::date(f[2])?,
            current_period_start: binary::date(f[3])?,
            current_period_end: binary::date(f[4])?,
            upgraded_to_id: optional_id(f[5])?,
            upgraded_from_id: optional_id(f[6])?,
            version: binary::int8(f[7])?,
            auto_renew: binary::boolean(f[8])?,
            created_at: binary::timestamptz(f[9])?,
            updated_at: binary::timestamptz(f[10])?,
            commerce: name(f[11], Commerce::parse)?,
            term_duration: name(f[12], TermDuration::parse)?,
            unit_price: f[13].map(|price| binary::int8(Some(price))).transpose()?,
            cancellation_window_ends_at: optional_time(f[14])?,
            seat_windows,
            migrated_from_id: optional_id(f[16])?,
        })
    }
}

/// The customer's stored facts (the layout of migration `20261214090000`), each array read in
/// place: an element is decoded only where the mapping keeps it.
struct Packed<'r> {
    market_code: String,
    subscriptions: Array<'r>,
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

/// The layout's version the service reads.
const LAYOUT: [u8; 4] = 1_i32.to_be_bytes();

impl<'r> Packed<'r> {
    /// The row's market and facts, the arrays' framing checked.
    fn read(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        let market_code = row.try_get("market_code")?;
        let facts: &[u8] = row.try_get("facts")?;
        Self::parse(market_code, facts).map_err(|source| sqlx::Error::ColumnDecode {
            index: "\"facts\"".to_owned(),
            source,
        })
    }

    fn parse(market_code: String, facts: &'r [u8]) -> Result<Self, Error> {
        let mut rest = match facts.split_first_chunk::<4>() {
            Some((&LAYOUT, rest)) => rest,
            _ => return Err("stored facts of another layout".into()),
        };
        let mut next = |element| -> Result<Array<'r>, Error> {
            let (array, after) = Array::split(rest, element)?;
            rest = after;
            Ok(array)
        };
        let packed = Packed {
            market_code,
            subscriptions: next(Element::Record)?,
            right_partners: next(Element::Uuid)?,
            right_statuses: next(Element::Text)?,
            right_starts: next(Element::Timestamptz)?,
            right_ends: next(Element::Timestamptz)?,
            right_all_services: next(Element::Bool)?,
            right_services: next(Element::Text)?,
            add_on_subscriptions: next(Element::Uuid)?,
            license_users: next(Element::Uuid)?,
            license_subscriptions: next(Element::Uuid)?,
            license_assigned: next(Element::Timestamptz)?,
            license_names: next(Element::Bytea)?,
            license_emails: next(Element::Bytea)?,
            license_disabled: next(Element::Text)?,
        };
        if !rest.is_empty() {
            return Err("bytes after the stored facts".into());
        }
        Ok(packed)
    }

    /// What `partner_id` may see of the customer, for an upgrade of `source_id`: the source
    /// when the partner sold it; the rest when `wants_rest` asks for it.
    fn for_source(
        self,
        partner_id: PartnerId,
        source_id: SubscriptionId,
        wants_rest: impl FnOnce(Option<&Subscription>) -> bool,
    ) -> Result<FactsRow, Error> {
        let partner = partner_id.as_uuid();
        let partner = Some(&partner.as_bytes()[..]);
        let source_id = source_id.as_uuid();
        let source_id = Some(&source_id.as_bytes()[..]);
        let mut source = None;
        for element in self.subscriptions.iter() {
            let record = SubscriptionRecord::read(element)?;
            if record.id() == source_id && record.sold_by(partner) {
                source = Some(record.subscription()?);
                break;
            }
        }
        if !wants_rest(source.as_ref()) {
            return Ok(FactsRow {
                source,
                subscriptions: Vec::new(),
                rights: Vec::new(),
                add_ons: 0,
                holders: Vec::new(),
                assignments: Vec::new(),
                market_code: self.market_code,
            });
        }
        let mut subscriptions = Vec::with_capacity(self.subscriptions.len());
        for element in self.subscriptions.iter() {
            subscriptions.push(SubscriptionRecord::read(element)?.facts()?);
        }
        let add_ons = (self.add_on_subscriptions.iter())
            .filter(|id| *id == source_id)
            .count();
        let (holders, assignments) = self.licenses(|id| id == source_id)?;
        Ok(FactsRow {
            source,
            subscriptions,
            rights: self.rights_of(partner)?,
            add_ons: i64::try_from(add_ons).unwrap_or(i64::MAX),
            holders: holders.into_iter().map(|h| h.holder).collect(),
            assignments,
            market_code: self.market_code,
        })
    }

    /// What `partner_id` may see of the customer, for an upgrade of each active subscription it
    /// sold the customer (the sources, in id order).
    fn for_sources(self, partner_id: PartnerId) -> Result<CustomerFactsRow, Error> {
        let partner = partner_id.as_uuid();
        let partner = Some(&partner.as_bytes()[..]);
        let mut sources = Vec::new();
        let mut subscriptions = Vec::with_capacity(self.subscriptions.len());
        for element in self.subscriptions.iter() {
            let record = SubscriptionRecord::read(element)?;
            if record.is_active() && record.sold_by(partner) {
                sources.push(record.subscription()?);
            }
            subscriptions.push(record.facts()?);
        }
        let mut add_ons = BTreeMap::<SubscriptionId, i64>::new();
        for id in self.add_on_subscriptions.iter() {
            *add_ons.entry(binary::uuid(id)?.into()).or_default() += 1;
        }
        let is_source = |id: Option<&[u8]>| {
            let id = id.and_then(|id| <[u8; 16]>::try_from(id).ok());
            id.is_some_and(|id| {
                let id = SubscriptionId::from(Uuid::from_bytes(id));
                sources.binary_search_by_key(&id, |s| s.id).is_ok()
            })
        };
        let (holders, assignments) = self.licenses(is_source)?;
        Ok(CustomerFactsRow {
            subscriptions,
            rights: self.rights_of(partner)?,
            market_code: self.market_code,
            sources,
            add_ons,
            holders,
            assignments,
        })
    }

    /// The partner's own relationships, in id order.
    fn rights_of(&self, partner: Option<&[u8]>) -> Result<Vec<RightsRow>, Error> {
        let columns = [
            &self.right_partners,
            &self.right_statuses,
            &self.right_starts,
            &self.right_ends,
            &self.right_all_services,
            &self.right_services,
        ];
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
                starts_at: binary::timestamptz(starts_at)?,
                ends_at: binary::timestamptz(ends_at)?,
                all_services: binary::boolean(all_services)?,
                services: codes(binary::text(services)?),
            });
        }
        Ok(rows)
    }

    /// The holders of a license from a source (by source, each source's in the order they were
    /// licensed) and every license: names and e-mails are decoded for the holders only.
    fn licenses(
        &self,
        is_source: impl Fn(Option<&[u8]>) -> bool,
    ) -> Result<(Vec<SourceHolderRow>, Vec<AssignmentRow>), Error> {
        let columns = [
            &self.license_users,
            &self.license_subscriptions,
            &self.license_assigned,
            &self.license_names,
            &self.license_emails,
            &self.license_disabled,
        ];
        let mut holders = Vec::new();
        let mut assignments = Vec::with_capacity(list_length("licenses", &columns)?);
        let licenses = (self.license_users.iter())
            .zip(self.license_subscriptions.iter())
            .zip(self.license_assigned.iter())
            .zip(self.license_names.iter())
            .zip(self.license_emails.iter())
            .zip(self.license_disabled.iter());
        for (((((user, subscription), assigned_at), name), email), disabled) in licenses {
            let user_id = binary::uuid(user)?.into();
            let subscription_id = binary::uuid(subscription)?.into();
            let disabled_services = codes(binary::text(disabled)?);
            if is_source(subscription) {
                holders.push(SourceHolderRow {
                    subscription_id,
                    holder: HolderRow {
                        user_id,
                        display_name: binary::text(name)?.to_owned(),
                        email: binary::text(email)?.to_owned(),
                        assigned_at: binary::timestamptz(assigned_at)?,
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
    }
}

#[cfg(test)]
mod tests;
