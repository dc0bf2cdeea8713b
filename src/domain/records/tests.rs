use super::*;

#[test]
fn stored_names_parse_back() {
    for kind in ChangeKind::ALL {
        assert_eq!(ChangeKind::parse(kind.as_str()), Some(kind));
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
    }
    for status in [
        RelationshipStatus::Active,
        RelationshipStatus::Expired,
        RelationshipStatus::Terminated,
    ] {
        assert_eq!(RelationshipStatus::parse(status.as_str()), Some(status));
    }
    assert_eq!(ChangeKind::parse("renamed"), None);
}

fn subscription(auto_renew: bool) -> Subscription {
    let day = |s: &str| s.parse::<NaiveDate>().unwrap();
    let at = "2026-01-15T00:00:00Z".parse().unwrap();
    Subscription {
        id: SubscriptionId(Uuid::from_u128(1)),
        customer_id: CustomerId(Uuid::from_u128(2)),
        offer_id: "m365-business-basic".into(),
        channel: Channel::Partner,
        partner_id: Some(PartnerId(Uuid::from_u128(3))),
        quantity: 5,
        status: SubscriptionStatus::Active,
        billing_cycle: BillingCycle::Monthly,
        term_start: day("2026-01-15"),
        term_end: day("2027-01-15"),
        current_period_start: day("2026-01-15"),
        current_period_end: day("2026-02-15"),
        upgraded_to_id: None,
        upgraded_from_id: None,
        version: 1,
        auto_renew,
        created_at: at,
        updated_at: at,
        commerce: Commerce::Legacy,
        term_duration: TermDuration::P1Y,
        unit_price: None,
        cancellation_window_ends_at: None,
        seat_windows: SeatWindows::default(),
        migrated_from_id: None,
    }
}

#[test]
fn only_an_auto_renewing_subscription_is_read_past_its_term_end() {
    let on = "2027-02-20".parse().unwrap();
    let renewing = subscription(true).as_of(on);
    assert_eq!(
        (
            renewing.term_start.to_string(),
            renewing.current_period_start.to_string()
        ),
        ("2027-01-15".to_owned(), "2027-02-15".to_owned())
    );
    let ending = subscription(false).as_of(on);
    assert_eq!(
        (
            ending.term_end.to_string(),
            ending.current_period_start.to_string(),
            ending.current_period_end.to_string()
        ),
        (
            "2027-01-15".to_owned(),
            "2026-12-15".to_owned(),
            "2027-01-15".to_owned()
        )
    );
}
