use super::sent::empty;
use super::*;

/// An array as Postgres sends it (the elements' type fixed, for literals of any length).
fn sent(element: Element, elements: &[Option<&[u8]>]) -> Vec<u8> {
    super::sent::array(element, elements)
}

/// A record as Postgres sends it.
fn record_sent(fields: &[(Element, Option<&[u8]>)]) -> Vec<u8> {
    super::sent::record(fields)
}

/// The array of `element`s that `bytes` is, with nothing after it.
fn parse(bytes: &[u8], element: Element) -> Result<Array<'_>, Error> {
    let (array, rest) = Array::split(bytes, element)?;
    if rest.is_empty() {
        Ok(array)
    } else {
        Err("bytes after the array".into())
    }
}

#[test]
fn the_empty_array_has_no_dimensions_and_no_elements() {
    let bytes = empty(Element::Uuid);
    let array = parse(&bytes, Element::Uuid).unwrap();
    assert_eq!(array.len(), 0);
    assert_eq!(array.iter().count(), 0);
}

#[test]
fn elements_come_back_in_order_with_nulls_as_none() {
    let bytes = sent(
        Element::Text,
        &[Some(b"E3"), None, Some(b""), Some("é".as_bytes())],
    );
    let array = parse(&bytes, Element::Text).unwrap();
    assert_eq!(array.len(), 4);
    let elements: Vec<Option<&[u8]>> = array.iter().collect();
    assert_eq!(
        elements,
        [Some(&b"E3"[..]), None, Some(&b""[..]), Some("é".as_bytes())]
    );
    assert_eq!(array.iter().len(), 4);
    assert_eq!(text(elements[3]).unwrap(), "é");
    assert!(text(elements[1]).is_err(), "NULL is not text");
}

#[test]
fn each_element_type_decodes_as_postgres_sends_it() {
    let id = Uuid::parse_str("51000003-0000-4000-8000-00000000002a").unwrap();
    assert_eq!(uuid(Some(id.as_bytes())).unwrap(), id);
    assert_eq!(optional_uuid(None).unwrap(), None);
    assert_eq!(optional_uuid(Some(id.as_bytes())).unwrap(), Some(id));
    assert_eq!(int4(Some(&(-25_i32).to_be_bytes())).unwrap(), -25);
    assert!(boolean(Some(&[1])).unwrap());
    assert!(!boolean(Some(&[0])).unwrap());
    // 2026-12-06 10:30:00.000123 UTC, counted from 2000-01-01 as Postgres counts.
    let at = "2026-12-06T10:30:00.000123Z"
        .parse::<DateTime<Utc>>()
        .unwrap();
    let from_2000 = at.timestamp_micros() - 946_684_800_000_000;
    assert_eq!(timestamptz(Some(&from_2000.to_be_bytes())).unwrap(), at);
    let before_2000 = "1999-12-31T23:59:59Z".parse::<DateTime<Utc>>().unwrap();
    assert_eq!(
        timestamptz(Some(&(-1_000_000_i64).to_be_bytes())).unwrap(),
        before_2000
    );
}

#[test]
fn infinite_timestamps_and_wrong_sizes_are_errors_not_values() {
    assert!(timestamptz(Some(&i64::MAX.to_be_bytes())).is_err());
    assert!(timestamptz(Some(&i64::MIN.to_be_bytes())).is_err());
    assert!(uuid(Some(&[0; 15])).is_err());
    assert!(int4(Some(&[0; 8])).is_err());
    assert!(boolean(None).is_err());
    assert!(text(Some(&[0xff, 0xfe])).is_err(), "not UTF-8");
}

#[test]
fn an_array_of_another_type_or_shape_is_refused() {
    let texts = sent(Element::Text, &[Some(b"a")]);
    assert!(parse(&texts, Element::Uuid).is_err());
    let mut two_dimensions = texts.clone();
    two_dimensions[3] = 2;
    assert!(parse(&two_dimensions, Element::Text).is_err());
}

#[test]
fn a_cut_or_padded_array_is_refused_at_every_length() {
    let bytes = sent(
        Element::Int4,
        &[Some(&7_i32.to_be_bytes()), None, Some(&9_i32.to_be_bytes())],
    );
    assert!(parse(&bytes, Element::Int4).is_ok());
    for cut in 0..bytes.len() {
        assert!(
            parse(&bytes[..cut], Element::Int4).is_err(),
            "cut at {cut} of {} bytes",
            bytes.len()
        );
    }
    let mut padded = bytes.clone();
    padded.push(0);
    assert!(parse(&padded, Element::Int4).is_err());
    let mut negative = bytes.clone();
    negative[12..16].copy_from_slice(&(-3_i32).to_be_bytes());
    assert!(parse(&negative, Element::Int4).is_err());
    let mut too_long = bytes;
    too_long[20..24].copy_from_slice(&1_000_i32.to_be_bytes());
    assert!(parse(&too_long, Element::Int4).is_err());
}

#[test]
fn arrays_one_after_another_split_where_each_ends() {
    let mut bytes = empty(Element::Uuid);
    bytes.extend(sent(Element::Text, &[Some(b"x"), None]));
    bytes.extend(sent(Element::Record, &[Some(b"\0\0\0\0")]));
    let (empty, rest) = Array::split(&bytes, Element::Uuid).unwrap();
    assert_eq!(empty.len(), 0);
    let (texts, rest) = Array::split(rest, Element::Text).unwrap();
    assert_eq!(texts.iter().collect::<Vec<_>>(), [Some(&b"x"[..]), None]);
    let (records, rest) = Array::split(rest, Element::Record).unwrap();
    assert_eq!(records.len(), 1);
    assert!(rest.is_empty());
}

/// The whole record of `N` fields that `element` is.
fn record<'r, const N: usize>(
    element: Option<&'r [u8]>,
    types: &[Element; N],
) -> Result<Fields<'r, N>, Error> {
    let (fields, rest) = record_head(element, N, types)?;
    if rest.is_empty() {
        Ok(fields)
    } else {
        Err("bytes after the record".into())
    }
}

#[test]
fn a_records_fields_come_back_by_position_with_nulls_as_none() {
    let bytes = record_sent(&[
        (Element::Text, Some(b"E3")),
        (Element::Uuid, None),
        (Element::Int8, Some(&42_i64.to_be_bytes())),
    ]);
    let types = [Element::Text, Element::Uuid, Element::Int8];
    let [offer, partner, version] = record(Some(&bytes), &types).unwrap();
    assert_eq!(text(offer).unwrap(), "E3");
    assert_eq!(optional_uuid(partner).unwrap(), None);
    assert_eq!(int8(version).unwrap(), 42);
}

#[test]
fn a_record_of_other_fields_or_cut_short_is_refused() {
    let bytes = record_sent(&[(Element::Text, Some(b"E3")), (Element::Int4, Some(&[0; 4]))]);
    assert!(record(Some(&bytes), &[Element::Text, Element::Int4]).is_ok());
    assert!(
        record(Some(&bytes), &[Element::Text]).is_err(),
        "one field too many"
    );
    assert!(
        record(Some(&bytes), &[Element::Text, Element::Int8]).is_err(),
        "another type"
    );
    for cut in 0..bytes.len() {
        assert!(record(Some(&bytes[..cut]), &[Element::Text, Element::Int4]).is_err());
    }
    let mut padded = bytes.clone();
    padded.push(0);
    assert!(record(Some(&padded), &[Element::Text, Element::Int4]).is_err());
    assert!(
        record::<1>(None, &[Element::Text]).is_err(),
        "a NULL record"
    );
}

#[test]
fn dates_and_jsonb_decode_as_postgres_sends_them() {
    let day = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
    let from_2000 = (day - NaiveDate::from_ymd_opt(2000, 1, 1).unwrap()).num_days();
    let from_2000 = i32::try_from(from_2000).unwrap();
    assert_eq!(date(Some(&from_2000.to_be_bytes())).unwrap(), day);
    assert_eq!(
        date(Some(&(-1_i32).to_be_bytes())).unwrap(),
        NaiveDate::from_ymd_opt(1999, 12, 31).unwrap()
    );
    assert!(date(Some(&i32::MAX.to_be_bytes())).is_err(), "infinity");
    assert_eq!(jsonb(Some(b"\x01[]")).unwrap(), "[]");
    assert!(jsonb(Some(b"\x02[]")).is_err(), "another jsonb format");
    assert!(jsonb(Some(b"")).is_err());
}
