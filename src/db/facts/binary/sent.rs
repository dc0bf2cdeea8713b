//! Arrays and records as Postgres sends them (`array_send`, `record_send`), built for the tests.

use super::Element;

/// The OID Postgres writes for `element` (a composite type's own, here 16,384).
pub fn oid(element: Element) -> u32 {
    element.oid().unwrap_or(16_384)
}

/// A value's length (-1 for NULL) and bytes.
fn value(bytes: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        None => bytes.extend((-1_i32).to_be_bytes()),
        Some(value) => {
            bytes.extend(i32::try_from(value.len()).unwrap().to_be_bytes());
            bytes.extend(value);
        }
    }
}

/// An array of `element`s, `None` for NULL; of no dimensions when empty.
pub fn array<B: AsRef<[u8]>>(element: Element, elements: &[Option<B>]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let dimensions = i32::from(!elements.is_empty());
    let has_null = i32::from(elements.iter().any(Option::is_none));
    bytes.extend(dimensions.to_be_bytes());
    bytes.extend(has_null.to_be_bytes());
    bytes.extend(oid(element).to_be_bytes());
    if dimensions == 1 {
        bytes.extend(i32::try_from(elements.len()).unwrap().to_be_bytes());
        bytes.extend(1_i32.to_be_bytes());
    }
    for element in elements {
        value(&mut bytes, element.as_ref().map(AsRef::as_ref));
    }
    bytes
}

/// An empty array of `element`s.
pub fn empty(element: Element) -> Vec<u8> {
    array::<&[u8]>(element, &[])
}

/// A record of the fields' types and values, `None` for NULL.
pub fn record<B: AsRef<[u8]>>(fields: &[(Element, Option<B>)]) -> Vec<u8> {
    let mut bytes = i32::try_from(fields.len()).unwrap().to_be_bytes().to_vec();
    for (element, field) in fields {
        bytes.extend(oid(*element).to_be_bytes());
        value(&mut bytes, field.as_ref().map(AsRef::as_ref));
    }
    bytes
}
