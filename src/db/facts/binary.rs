//! Postgres's binary forms of one-dimensional arrays and of records, read in place: the stored
//! facts are such arrays one after another (migration `20261214090000`). sqlx's `Vec<T>` decoded
//! each element into an owned value after a copy of the element's type, a sixth of the
//! eligibility GET's instructions (docs/performance.md); here an element is a slice of the row's
//! buffer, decoded only where the mapping keeps it.
//!
//! An array (`array_send` in Postgres's `arrayfuncs.c`): the number of dimensions, a flags word,
//! the element type's OID, then per dimension its length and lower bound, then each element as a
//! length (-1 for NULL) and that many bytes. A record (`record_send`, `rowtypes.c`): the number of
//! fields, then each field as its type's OID, a length (-1 for NULL) and that many bytes. Every
//! integer big-endian.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use uuid::Uuid;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The types the stored facts hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    Bool,
    Bytea,
    Int4,
    Int8,
    Text,
    Date,
    Timestamptz,
    Uuid,
    Jsonb,
    /// A composite type: its OID differs from one database (and Citus node) to another.
    Record,
}

impl Element {
    /// The type's OID (Postgres's `pg_type.dat`), fixed for the built-in types.
    pub(super) fn oid(self) -> Option<u32> {
        match self {
            Element::Bool => Some(16),
            Element::Bytea => Some(17),
            Element::Int8 => Some(20),
            Element::Int4 => Some(23),
            Element::Text => Some(25),
            Element::Date => Some(1082),
            Element::Timestamptz => Some(1184),
            Element::Uuid => Some(2950),
            Element::Jsonb => Some(3802),
            Element::Record => None,
        }
    }
}

/// A one-dimensional array whose framing has been checked: every element's length fits in the
/// buffer and nothing follows the last one.
#[derive(Debug, Clone, Copy)]
pub struct Array<'r> {
    elements: &'r [u8],
    len: usize,
}

impl<'r> Array<'r> {
    /// The array of `element`s at the start of `bytes`, and the bytes after it.
    pub fn split(bytes: &'r [u8], element: Element) -> Result<(Self, &'r [u8]), Error> {
        let word = |at: usize| -> Result<i32, Error> {
            let word = bytes
                .get(at..at + 4)
                .ok_or("an array cut short in its header")?;
            Ok(i32::from_be_bytes([word[0], word[1], word[2], word[3]]))
        };
        let dimensions = word(0)?;
        let oid = word(8)?;
        if let Some(expected) = element.oid()
            && u32::from_be_bytes(oid.to_be_bytes()) != expected
        {
            return Err(format!("an array of type OID {oid}, not {element:?}").into());
        }
        let (len, header) = match dimensions {
            0 => (0, 12),
            1 => {
                let len = usize::try_from(word(12)?).map_err(|_| "an array of negative length")?;
                (len, 20)
            }
            dimensions => return Err(format!("an array of {dimensions} dimensions").into()),
        };
        let elements = bytes
            .get(header..)
            .ok_or("an array cut short in its header")?;
        let mut rest = Elements {
            rest: elements,
            left: len,
        };
        for _ in 0..len {
            rest.step()?;
        }
        let size = elements.len() - rest.rest.len();
        let array = Array {
            elements: &elements[..size],
            len,
        };
        Ok((array, rest.rest))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The elements in order, `None` for NULL.
    pub fn iter(&self) -> Elements<'r> {
        Elements {
            rest: self.elements,
            left: self.len,
        }
    }
}

/// The elements of an [`Array`].
#[derive(Debug, Clone)]
pub struct Elements<'r> {
    rest: &'r [u8],
    left: usize,
}

impl<'r> Elements<'r> {
    fn step(&mut self) -> Result<Option<&'r [u8]>, Error> {
        let (length, rest) = self
            .rest
            .split_first_chunk::<4>()
            .ok_or("an array element cut short")?;
        self.left -= 1;
        let length = i32::from_be_bytes(*length);
        if length == -1 {
            self.rest = rest;
            return Ok(None);
        }
        let length = usize::try_from(length).map_err(|_| "an element of negative length")?;
        if length > rest.len() {
            return Err("an array element longer than the array".into());
        }
        let (element, rest) = rest.split_at(length);
        self.rest = rest;
        Ok(Some(element))
    }
}

impl<'r> Iterator for Elements<'r> {
    type Item = Option<&'r [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        // The framing was checked when the array was read: every step succeeds.
        self.step().ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Elements<'_> {}

fn not_null(element: Option<&[u8]>) -> Result<&[u8], Error> {
    element.ok_or_else(|| "unexpected NULL element".into())
}

fn fixed<const N: usize>(element: Option<&[u8]>) -> Result<[u8; N], Error> {
    let bytes = not_null(element)?;
    bytes
        .try_into()
        .map_err(|_| format!("an element of {} bytes, not {N}", bytes.len()).into())
}

pub fn uuid(element: Option<&[u8]>) -> Result<Uuid, Error> {
    fixed::<16>(element).map(Uuid::from_bytes)
}

/// A `uuid` that may be NULL.
pub fn optional_uuid(element: Option<&[u8]>) -> Result<Option<Uuid>, Error> {
    element.map(|bytes| uuid(Some(bytes))).transpose()
}

pub fn int4(element: Option<&[u8]>) -> Result<i32, Error> {
    fixed::<4>(element).map(i32::from_be_bytes)
}

pub fn boolean(element: Option<&[u8]>) -> Result<bool, Error> {
    fixed::<1>(element).map(|[byte]| byte != 0)
}

pub fn int8(element: Option<&[u8]>) -> Result<i64, Error> {
    fixed::<8>(element).map(i64::from_be_bytes)
}

/// A `text`, or a `bytea` holding UTF-8.
pub fn text(element: Option<&[u8]>) -> Result<&str, Error> {
    Ok(std::str::from_utf8(not_null(element)?)?)
}

/// A `jsonb`'s JSON text (after its format's version byte, 1).
pub fn jsonb(element: Option<&[u8]>) -> Result<&str, Error> {
    match not_null(element)?.split_first() {
        Some((1, json)) => Ok(std::str::from_utf8(json)?),
        _ => Err("a jsonb of an unknown format".into()),
    }
}

/// Days since 2000-01-01; `infinity` and `-infinity` have no `NaiveDate`.
pub fn date(element: Option<&[u8]>) -> Result<NaiveDate, Error> {
    let days = int4(element)?;
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(TimeDelta::days(i64::from(days))))
        .ok_or_else(|| format!("a date {days} days from 2000 out of range").into())
}

/// Microseconds since 2000-01-01 00:00 UTC; `infinity` and `-infinity` have no `DateTime`.
pub fn timestamptz(element: Option<&[u8]>) -> Result<DateTime<Utc>, Error> {
    const FROM_UNIX_EPOCH: i64 = 946_684_800_000_000;
    let micros = i64::from_be_bytes(fixed::<8>(element)?);
    (micros.checked_add(FROM_UNIX_EPOCH))
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(|| format!("a timestamp {micros} µs from 2000 out of range").into())
}

/// A record's fields, `None` for NULL.
pub type Fields<'r, const N: usize> = [Option<&'r [u8]>; N];

/// The first `N` fields of a record of `count` fields, of the types `types`, and the bytes of
/// the others (for [`fields`]).
pub fn record_head<'r, const N: usize>(
    element: Option<&'r [u8]>,
    count: usize,
    types: &[Element; N],
) -> Result<(Fields<'r, N>, &'r [u8]), Error> {
    let (sent, rest) = (not_null(element)?.split_first_chunk::<4>()).ok_or("a record cut short")?;
    let sent = i32::from_be_bytes(*sent);
    if usize::try_from(sent).ok() != Some(count) {
        return Err(format!("a record of {sent} fields, not {count}").into());
    }
    fields(rest, types)
}

/// The next `N` fields of a record, of the types `types`, and the bytes after them.
pub fn fields<'r, const N: usize>(
    mut bytes: &'r [u8],
    types: &[Element; N],
) -> Result<(Fields<'r, N>, &'r [u8]), Error> {
    let mut fields = [None; N];
    for (field, element) in fields.iter_mut().zip(types) {
        let (oid, after) = bytes.split_first_chunk::<4>().ok_or("a record cut short")?;
        let oid = u32::from_be_bytes(*oid);
        if Some(oid) != element.oid() {
            return Err(format!("a field of type OID {oid}, not {element:?}").into());
        }
        let mut elements = Elements {
            rest: after,
            left: 1,
        };
        *field = elements.step()?;
        bytes = elements.rest;
    }
    Ok((fields, bytes))
}

#[cfg(test)]
pub(super) mod sent;
#[cfg(test)]
mod tests;
