//! Postgres's binary form of a one-dimensional array, read in place. The facts row is twenty such
//! arrays of `uuid`, `text`, `int4`, `bool` and `timestamptz`; sqlx's `Vec<T>` decoded each
//! element into an owned value after a copy of the element's type, which was a sixth of the
//! eligibility GET's instructions (docs/performance.md). Here an element is a slice of the row's
//! buffer, decoded only where the mapping keeps it.
//!
//! The form (`array_send` in Postgres's `arrayfuncs.c`): the number of dimensions, a flags word,
//! the element type's OID, then per dimension its length and lower bound, then each element as a
//! length (-1 for NULL) and that many bytes; every integer big-endian.

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgRow, PgValueFormat};
use sqlx::{Row, ValueRef};
use uuid::Uuid;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The element types the facts row's arrays hold, by OID (Postgres's `pg_type.dat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    Bool = 16,
    Int4 = 23,
    Text = 25,
    Timestamptz = 1184,
    Uuid = 2950,
}

/// A one-dimensional array whose framing has been checked: every element's length fits in the
/// buffer and nothing follows the last one.
#[derive(Debug, Clone, Copy)]
pub struct Array<'r> {
    elements: &'r [u8],
    len: usize,
}

impl<'r> Array<'r> {
    /// The array in column `column` of `row`, of `element`s.
    pub fn column(row: &'r PgRow, column: &str, element: Element) -> Result<Self, sqlx::Error> {
        let decode_error = |source: Error| sqlx::Error::ColumnDecode {
            index: format!("{column:?}"),
            source,
        };
        let value = row.try_get_raw(column)?;
        if value.is_null() {
            return Err(decode_error("unexpected NULL".into()));
        }
        if value.format() != PgValueFormat::Binary {
            return Err(decode_error("an array sent as text".into()));
        }
        value
            .as_bytes()
            .and_then(|bytes| Self::parse(bytes, element))
            .map_err(decode_error)
    }

    /// Reads the framing of `bytes`, an array of `element`s.
    pub fn parse(bytes: &'r [u8], element: Element) -> Result<Self, Error> {
        let word = |at: usize| -> Result<i32, Error> {
            let word = bytes
                .get(at..at + 4)
                .ok_or("an array cut short in its header")?;
            Ok(i32::from_be_bytes([word[0], word[1], word[2], word[3]]))
        };
        match word(0)? {
            0 => {
                return Ok(Array {
                    elements: &[],
                    len: 0,
                });
            }
            1 => {}
            dimensions => return Err(format!("an array of {dimensions} dimensions").into()),
        }
        let oid = word(8)?;
        if oid != element as i32 {
            return Err(format!("an array of type OID {oid}, not {element:?}").into());
        }
        let len = usize::try_from(word(12)?).map_err(|_| "an array of negative length")?;
        let elements = &bytes[20.min(bytes.len())..];
        let mut rest = Elements {
            rest: elements,
            left: len,
        };
        for _ in 0..len {
            rest.step()?;
        }
        if !rest.rest.is_empty() {
            return Err("bytes after an array's last element".into());
        }
        Ok(Array { elements, len })
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

pub fn text(element: Option<&[u8]>) -> Result<&str, Error> {
    Ok(std::str::from_utf8(not_null(element)?)?)
}

/// Microseconds since 2000-01-01 00:00 UTC; `infinity` and `-infinity` have no `DateTime`.
pub fn timestamptz(element: Option<&[u8]>) -> Result<DateTime<Utc>, Error> {
    const FROM_UNIX_EPOCH: i64 = 946_684_800_000_000;
    let micros = i64::from_be_bytes(fixed::<8>(element)?);
    (micros.checked_add(FROM_UNIX_EPOCH))
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(|| format!("a timestamp {micros} µs from 2000 out of range").into())
}

#[cfg(test)]
mod tests;
