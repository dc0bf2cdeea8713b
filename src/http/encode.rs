//! Answers' JSON: byte for byte what `serde_json::to_writer` writes (compact), with less work per
//! byte. serde_json checks each byte of every string, keys included, against its escape table
//! one at a time, and writes each piece with its own copy; a page of fifty renewals spent a third
//! of the service's instructions there (`scripts/profile-get`). Here a string is checked in one
//! pass the compiler vectorises and, when nothing in it needs escaping (every key, id, date and
//! code the service writes), copied whole; otherwise, and for numbers, serde_json writes it.
//! The tests compare both writers' bytes on every shape serde can send.

use std::fmt::{self, Display};

use serde::Serialize;
use serde::ser::{self, Error as _};

type Error = serde_json::Error;

/// Appends `value` as compact JSON to `out`.
pub fn to_writer<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut Writer { out })
}

/// The name serde_json's `RawValue` serialises itself under: a struct of one field, whose value
/// is the JSON text to write as it is.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// Whether serde_json would escape any byte of `bytes`: a control character, a quote or a
/// backslash. Eight bytes at a time, each test exact for whether any byte of the word matches
/// (the classic "has a zero byte" arithmetic; bytes of 0x80 and above never match); the last
/// word overlaps the one before it rather than going byte by byte.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let has_zero = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS != 0;
    let matches = |chunk: &[u8]| {
        let word = u64::from_ne_bytes(chunk.try_into().unwrap_or_default());
        word.wrapping_sub(ONES * 0x20) & !word & HIGHS != 0
            || has_zero(word ^ (ONES * u64::from(b'"')))
            || has_zero(word ^ (ONES * u64::from(b'\\')))
    };
    if bytes.len() < 8 {
        return bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
    }
    bytes.chunks_exact(8).any(matches) || matches(&bytes[bytes.len() - 8..])
}

/// A JSON string.
fn write_str(out: &mut Vec<u8>, value: &str) -> Result<(), Error> {
    let bytes = value.as_bytes();
    if needs_escape(bytes) {
        return serde_json::to_writer(out, value);
    }
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    out.extend_from_slice(bytes);
    out.push(b'"');
    Ok(())
}

/// A number, or anything else serde_json writes its own way.
fn delegate<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    serde_json::to_writer(out, value)
}

/// A serializer's integer methods: `delegate` writes the number as serde_json does, `quoted`
/// the same inside a map key's string.
macro_rules! integers {
    (delegate; $($method:ident: $ty:ty),*) => {
        $(fn $method(self, v: $ty) -> Result<(), Error> {
            delegate(self.out, &v)
        })*
    };
    (quoted; $($method:ident: $ty:ty),*) => {
        $(fn $method(self, v: $ty) -> Result<(), Error> {
            self.quoted(v)
        })*
    };
}

/// A sequence-like compound (array, tuple, tuple variant): each element after a comma.
macro_rules! elements {
    ($trait:ident: $method:ident) => {
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }

            fn end(self) -> Result<(), Error> {
                self.close()
            }
        }
    };
}

/// A struct-like compound (struct, struct variant): each field as a key and its value.
macro_rules! fields {
    ($trait:ident) => {
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;

            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.field(key, value)
            }

            fn end(self) -> Result<(), Error> {
                self.close()
            }
        }
    };
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

/// An array, object or variant being written: what closes it, and whether an element has been
/// written (the next one needs a comma).
#[doc(hidden)]
pub struct Compound<'w, 'a> {
    writer: &'w mut Writer<'a>,
    started: bool,
    close: &'static [u8],
    raw: bool,
}

impl<'w, 'a> Compound<'w, 'a> {
    fn open(writer: &'w mut Writer<'a>, open: &[u8], close: &'static [u8]) -> Self {
        writer.out.extend_from_slice(open);
        Compound {
            writer,
            started: false,
            close,
            raw: false,
        }
    }

    fn comma(&mut self) {
        if self.started {
            self.writer.out.push(b',');
        }
        self.started = true;
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.comma();
        value.serialize(&mut *self.writer)
    }

    /// A struct's field: `key` is a field name from a derive (`&'static`), letters and digits that
    /// need no escaping, so it is copied without the check.
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        if self.raw {
            return value.serialize(MapKey {
                out: &mut *self.writer.out,
                raw: true,
            });
        }
        debug_assert!(
            !needs_escape(key.as_bytes()),
            "field name {key:?} needs escaping"
        );
        self.comma();
        let out = &mut *self.writer.out;
        out.reserve(key.len() + 3);
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        value.serialize(&mut *self.writer)
    }

    fn close(self) -> Result<(), Error> {
        self.writer.out.extend_from_slice(self.close);
        Ok(())
    }
}

/// `{"variant":` … `}` around a variant's content.
fn open_variant<'w, 'a>(
    writer: &'w mut Writer<'a>,
    variant: &str,
    open: &[u8],
    close: &'static [u8],
) -> Result<Compound<'w, 'a>, Error> {
    writer.out.push(b'{');
    write_str(writer.out, variant)?;
    writer.out.push(b':');
    Ok(Compound::open(writer, open, close))
}

impl<'w, 'a> ser::Serializer for &'w mut Writer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'w, 'a>;
    type SerializeTuple = Compound<'w, 'a>;
    type SerializeTupleStruct = Compound<'w, 'a>;
    type SerializeTupleVariant = Compound<'w, 'a>;
    type SerializeMap = Compound<'w, 'a>;
    type SerializeStruct = Compound<'w, 'a>;
    type SerializeStructVariant = Compound<'w, 'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true".as_slice() } else { b"false" });
        Ok(())
    }

    integers!(delegate;
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64, serialize_i128: i128,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64, serialize_u128: u128
    );

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        delegate(self.out, &v)
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        delegate(self.out, &v)
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.out, v)
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        delegate(self.out, v)
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        write_str(self.out, variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        write_str(self.out, variant)?;
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'w, 'a>, Error> {
        Ok(Compound::open(self, b"[", b"]"))
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'w, 'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        open_variant(self, variant, b"[", b"]}")
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'w, 'a>, Error> {
        Ok(Compound::open(self, b"{", b"}"))
    }

    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<Compound<'w, 'a>, Error> {
        if name == RAW_VALUE_TOKEN {
            let mut raw = Compound::open(self, b"", b"");
            raw.raw = true;
            return Ok(raw);
        }
        self.serialize_map(None)
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        open_variant(self, variant, b"{", b"}}")
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        let mut text = Text(String::new());
        fmt::write(&mut text, format_args!("{value}")).map_err(Error::custom)?;
        write_str(self.out, &text.0)
    }
}

/// A `Display`'s text, gathered to be written as one string.
struct Text(String);

impl fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.push_str(s);
        Ok(())
    }
}

elements!(SerializeSeq: serialize_element);
elements!(SerializeTuple: serialize_element);
elements!(SerializeTupleStruct: serialize_field);
elements!(SerializeTupleVariant: serialize_field);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        key.serialize(MapKey {
            out: &mut *self.writer.out,
            raw: false,
        })
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.writer.out.push(b':');
        value.serialize(&mut *self.writer)
    }

    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

fields!(SerializeStruct);
fields!(SerializeStructVariant);

/// A map's key: a string, or what serde_json quotes into one (numbers, booleans, a character, a
/// unit variant); anything else is refused, as serde_json refuses it. With `raw`, the text inside
/// a `RawValue` (always a string), written as it is: it is JSON already.
struct MapKey<'o> {
    out: &'o mut Vec<u8>,
    raw: bool,
}

impl MapKey<'_> {
    fn quoted<T: Serialize>(self, value: T) -> Result<(), Error> {
        self.out.push(b'"');
        delegate(self.out, &value)?;
        self.out.push(b'"');
        Ok(())
    }
}

fn key_must_be_a_string() -> Error {
    Error::custom("key must be a string")
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.quoted(v)
    }

    integers!(quoted;
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64, serialize_i128: i128,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64, serialize_u128: u128
    );

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(key_must_be_a_string());
        }
        self.quoted(v)
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(key_must_be_a_string());
        }
        self.quoted(v)
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        if self.raw {
            self.out.extend_from_slice(v.as_bytes());
            return Ok(());
        }
        write_str(self.out, v)
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        write_str(self.out, variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        write_str(self.out, &value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{DateTime, NaiveDate, Utc};
    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::Value;
    use serde_json::value::RawValue;

    /// Both writers' bytes, or both refuse.
    fn same<T: Serialize + ?Sized>(value: &T) {
        let theirs = serde_json::to_vec(value);
        let mut ours = Vec::new();
        let written = super::to_writer(&mut ours, value);
        match (theirs, written) {
            (Ok(theirs), Ok(())) => assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs)
            ),
            (Err(_), Err(_)) => {}
            (theirs, written) => panic!("serde_json: {theirs:?}; ours: {written:?}"),
        }
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct View {
        customer_id: uuid::Uuid,
        name: String,
        quantity: i32,
        unit_price: Option<i64>,
        next_unit_price: Option<i64>,
        term_end: NaiveDate,
        at: DateTime<Utc>,
        flags: Vec<Flag>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<bool>,
        nested: Option<Box<View>>,
        #[serde(flatten)]
        extra: BTreeMap<String, Value>,
        raw: Option<Box<RawValue>>,
        empty: Vec<u8>,
        empty_map: BTreeMap<i32, bool>,
        tuple: (u8, f64, char),
        unit: (),
    }

    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Flag {
        UnusedSeats,
        WindowOpen,
        Renamed(String),
        Pair(i64, i64),
        Shape { side: u32, label: &'static str },
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    struct Newtype(&'static str);

    #[test]
    fn a_struct_with_every_kind_of_field_is_written_as_serde_json_writes_it() {
        let mut extra = BTreeMap::new();
        extra.insert(
            "flattened".to_owned(),
            serde_json::json!({"a": [1, 2.5, null]}),
        );
        let view = |nested| View {
            customer_id: uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            name: "Fabbrica \"Rossi\" S.p.A.\n\u{1}caf\u{e9} \\ ok".to_owned(),
            quantity: -12,
            unit_price: Some(1_234),
            next_unit_price: None,
            term_end: NaiveDate::from_ymd_opt(2027, 2, 28).unwrap(),
            at: DateTime::from_timestamp(1_800_000_000, 123_456_000).unwrap(),
            flags: vec![
                Flag::UnusedSeats,
                Flag::WindowOpen,
                Flag::Renamed("x\ty".to_owned()),
                Flag::Pair(1, -2),
                Flag::Shape {
                    side: 3,
                    label: "square",
                },
            ],
            skipped: None,
            nested,
            extra: extra.clone(),
            raw: Some(RawValue::from_string(r#"{"kept" : [1,  2]}"#.to_owned()).unwrap()),
            empty: vec![],
            empty_map: BTreeMap::new(),
            tuple: (7, 0.1, '€'),
            unit: (),
        };
        same(&view(Some(Box::new(view(None)))));
        same(&[Unit, Unit]);
        same(&Newtype("inner"));
        same(&b"bytes".as_slice());
        same(&serde_bytes_like());
    }

    /// `serialize_bytes` itself (a `&[u8]` is a sequence to serde; this is what sends bytes).
    fn serde_bytes_like() -> impl Serialize {
        struct Bytes;
        impl Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&[0, 1, 255])
            }
        }
        Bytes
    }

    /// A map of these entries, in this order.
    fn map<K: Serialize, V: Serialize>(entries: Vec<(K, V)>) -> impl Serialize {
        struct Map<K, V>(Vec<(K, V)>);
        impl<K: Serialize, V: Serialize> Serialize for Map<K, V> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
            }
        }
        Map(entries)
    }

    #[test]
    fn map_keys_are_quoted_or_refused_as_serde_json_does() {
        same(&map(vec![(1_i64, "one"), (-2, "minus two")]));
        same(&map(vec![(u128::MAX, 1)]));
        same(&map(vec![(true, 1), (false, 0)]));
        same(&map(vec![('k', 1)]));
        same(&map(vec![(Some("some"), 1)]));
        same(&map(vec![(Newtype("new\"type"), 1)]));
        same(&map(vec![(Flag::UnusedSeats, 1)]));
        same(&map(vec![(1.5_f64, 2)]));
        same(&map(vec![(f64::NAN, 2)]));
        same(&map(vec![(None::<&str>, 1)]));
        same(&map(vec![(vec![1], 1)]));
        same(&map(vec![((), 1)]));
        same(&map(vec![(Unit, 1)]));
        same(&map(vec![(Flag::Pair(1, 2), 1)]));
        same(&map(vec![(Flag::Renamed("x".to_owned()), 1)]));
    }

    #[test]
    fn floats_are_written_by_serde_json_not_finite_ones_as_null() {
        same(&[0.1_f64, -0.0, 1e300, f64::NAN, f64::INFINITY, 3.0]);
        same(&[0.1_f32, f32::NEG_INFINITY]);
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[ -~\\n\\t\"\\\\\u{0}-\u{1f}é€😀]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_value_is_written_as_serde_json_writes_it(value in value()) {
            same(&value);
        }

        #[test]
        fn a_string_needs_escaping_exactly_when_a_byte_of_it_does(
            bytes in prop::collection::vec(prop_oneof![30 => 0x20_u8..=0xff, 1 => any::<u8>()], 0..40)
        ) {
            let expected = bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
            prop_assert_eq!(super::needs_escape(&bytes), expected);
        }

        #[test]
        fn any_string_is_escaped_as_serde_json_escapes_it(text in any::<String>()) {
            same(&text);
            same(&BTreeMap::from([(text.clone(), text)]));
        }
    }
}
