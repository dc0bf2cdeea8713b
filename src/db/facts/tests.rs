//! The stored facts' layout (migration `20261214090000`) read back, from bytes made here as
//! `array_send` and `record_send` write them. The API tests read what Postgres itself stores.

use chrono::NaiveDate;

use super::*;

use super::binary::sent::{array, empty, record};

fn id(text: &str) -> Uuid {
    Uuid::parse_str(text).unwrap()
}

const PARTNER: &str = "a1000000-0000-4000-8000-000000000007";
const OTHER_PARTNER: &str = "a1000000-0000-4000-8000-000000000008";
const SOURCE: &str = "51000000-0000-4000-8000-000000000001";
const DIRECT: &str = "51000008-0000-4000-8000-000000000001";
const CUSTOMER: &str = "c1000000-0000-4000-8000-000000000001";

/// A subscription's record: `channel`, sold by `partner`, `status`, `quantity` seats.
fn subscription(id_: &str, (channel, partner): (&str, Option<&str>), status: &str) -> Vec<u8> {
    let micros = |at: &str| {
        let at = at.parse::<DateTime<Utc>>().unwrap();
        (at.timestamp_micros() - 946_684_800_000_000)
            .to_be_bytes()
            .to_vec()
    };
    let day = |days: i32| days.to_be_bytes().to_vec();
    let fields: [Option<Vec<u8>>; 24] = [
        Some(id(id_).as_bytes().to_vec()),
        Some(id(CUSTOMER).as_bytes().to_vec()),
        Some(b"O365_E3".to_vec()),
        Some(channel.as_bytes().to_vec()),
        partner.map(|p| id(p).as_bytes().to_vec()),
        Some(12_i32.to_be_bytes().to_vec()),
        Some(status.as_bytes().to_vec()),
        Some(b"monthly".to_vec()),
        Some(day(9_466)),
        Some(day(9_831)),
        Some(day(9_466)),
        Some(day(9_496)),
        None,
        None,
        Some(3_i64.to_be_bytes().to_vec()),
        Some(vec![1]),
        Some(micros("2025-12-01T00:00:00Z")),
        Some(micros("2026-01-02T03:04:05Z")),
        Some(b"legacy".to_vec()),
        Some(b"P1Y".to_vec()),
        None,
        None,
        Some(b"\x01[]".to_vec()),
        None,
    ];
    let types = SUBSCRIPTION_HEAD.iter().chain(&SUBSCRIPTION_TAIL).copied();
    let fields: Vec<(Element, Option<Vec<u8>>)> = types.zip(fields).collect();
    record(&fields)
}

/// Stored facts of a customer with the partner's active source (one add-on, two licenses) and a
/// subscription of another channel, and no relationships.
fn stored(layout: i32) -> Vec<u8> {
    let uuid = |text: &str| Some(id(text).as_bytes().to_vec());
    let text = |text: &str| Some(text.as_bytes().to_vec());
    let mut bytes = layout.to_be_bytes().to_vec();
    bytes.extend(array(
        Element::Record,
        &[
            Some(subscription(SOURCE, ("partner", Some(PARTNER)), "active")),
            Some(subscription(DIRECT, ("other", None), "active")),
        ],
    ));
    for element in [
        Element::Uuid,
        Element::Text,
        Element::Timestamptz,
        Element::Timestamptz,
        Element::Bool,
        Element::Text,
    ] {
        bytes.extend(empty(element));
    }
    bytes.extend(array(Element::Uuid, &[uuid(SOURCE)]));
    let users = [
        "0e000000-0000-4000-8000-000000000002",
        "0e000000-0000-4000-8000-000000000001",
    ];
    bytes.extend(array(Element::Uuid, &[uuid(users[0]), uuid(users[1])]));
    bytes.extend(array(Element::Uuid, &[uuid(SOURCE), uuid(DIRECT)]));
    let at = ("2026-01-01T00:00:00Z"
        .parse::<DateTime<Utc>>()
        .unwrap()
        .timestamp_micros()
        - 946_684_800_000_000)
        .to_be_bytes()
        .to_vec();
    bytes.extend(array(Element::Timestamptz, &[Some(at.clone()), Some(at)]));
    bytes.extend(array(Element::Bytea, &[text("Zoë"), text("Ada")]));
    bytes.extend(array(
        Element::Bytea,
        &[text("zoe@example.com"), text("ada@example.com")],
    ));
    bytes.extend(array(Element::Text, &[text("EXCHANGE,TEAMS"), text("")]));
    bytes
}

fn partner(text: &str) -> PartnerId {
    PartnerId::from(id(text))
}

#[test]
fn the_source_is_found_among_the_records_only_when_the_partner_sold_it() {
    let bytes = stored(1);
    let packed = Packed::parse("US".to_owned(), &bytes).unwrap();
    let row = packed
        .for_source(partner(PARTNER), SubscriptionId::from(id(SOURCE)), |_| true)
        .unwrap();
    let source = row.source.expect("the partner's source");
    assert_eq!(source.id, SubscriptionId::from(id(SOURCE)));
    assert_eq!((source.quantity, source.version), (12, 3));
    assert_eq!(
        source.term_start,
        NaiveDate::from_ymd_opt(2025, 12, 1).unwrap()
    );
    assert_eq!(
        source.updated_at,
        "2026-01-02T03:04:05Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(
        row.subscriptions.len(),
        2,
        "every subscription, every channel"
    );
    assert_eq!(row.add_ons, 1);
    assert_eq!(row.holders.len(), 1);
    assert_eq!(row.holders[0].display_name, "Zoë");
    assert_eq!(row.holders[0].disabled_services, ["EXCHANGE", "TEAMS"]);
    assert_eq!(row.assignments.len(), 2);

    let packed = Packed::parse("US".to_owned(), &bytes).unwrap();
    let direct = packed
        .for_source(partner(PARTNER), SubscriptionId::from(id(DIRECT)), |_| true)
        .unwrap();
    assert!(
        direct.source.is_none(),
        "another channel's subscription is no source"
    );
    let packed = Packed::parse("US".to_owned(), &bytes).unwrap();
    let others = packed
        .for_source(
            partner(OTHER_PARTNER),
            SubscriptionId::from(id(SOURCE)),
            |_| true,
        )
        .unwrap();
    assert!(
        others.source.is_none(),
        "another partner's subscription is no source"
    );
}

#[test]
fn the_rest_is_decoded_only_when_asked_for_after_the_source_is_seen() {
    let bytes = stored(1);
    let mut seen = Vec::new();
    for (partner_id, wanted) in [(PARTNER, false), (OTHER_PARTNER, false), (PARTNER, true)] {
        let packed = Packed::parse("US".to_owned(), &bytes).unwrap();
        let row = packed
            .for_source(
                partner(partner_id),
                SubscriptionId::from(id(SOURCE)),
                |source| {
                    seen.push(source.map(|s| s.id));
                    wanted
                },
            )
            .unwrap();
        assert_eq!(row.market_code, "US");
        assert_eq!(
            row.source.map(|s| s.quantity),
            (partner_id == PARTNER).then_some(12)
        );
        let decoded = (
            row.subscriptions.len(),
            row.holders.len(),
            row.assignments.len(),
        );
        let rest = (row.rights.len(), row.add_ons);
        if wanted {
            assert_eq!((decoded, rest), ((2, 1, 2), (0, 1)));
        } else {
            assert_eq!((decoded, rest), ((0, 0, 0), (0, 0)), "{partner_id}");
        }
    }
    let source = Some(SubscriptionId::from(id(SOURCE)));
    assert_eq!(seen, [source, None, source]);
}

#[test]
fn the_sources_of_a_customer_are_the_active_ones_the_partner_sold() {
    let bytes = stored(1);
    let packed = Packed::parse("US".to_owned(), &bytes).unwrap();
    let row = packed.for_sources(partner(PARTNER)).unwrap();
    let sources: Vec<SubscriptionId> = row.sources.iter().map(|s| s.id).collect();
    assert_eq!(sources, [SubscriptionId::from(id(SOURCE))]);
    assert_eq!(row.holders.len(), 1);
    assert_eq!(row.add_ons.get(&SubscriptionId::from(id(SOURCE))), Some(&1));
}

#[test]
fn stored_facts_of_another_layout_or_with_bytes_after_them_are_refused() {
    assert!(Packed::parse("US".to_owned(), &stored(2)).is_err());
    let mut padded = stored(1);
    padded.push(0);
    assert!(Packed::parse("US".to_owned(), &padded).is_err());
    let whole = stored(1);
    assert!(Packed::parse("US".to_owned(), &whole[..whole.len() - 1]).is_err());
}
