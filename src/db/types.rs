//! The domain's closed sets of names (statuses, channels, cycles, change kinds) as Postgres
//! `text` columns, which named CHECK constraints keep to those names: decoding an unknown name
//! is an error, never a silent default. Both they and the typed ids also decode from arrays.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef};
use sqlx::types::Json;
use sqlx::{Decode, Encode, Postgres, Type};

use uuid::Uuid;

use crate::domain::add_on::AddOnStatus;
use crate::domain::commerce::{SeatWindow, SeatWindows};
use crate::domain::ids::{
    AddOnId, CustomerId, JobId, PartnerId, ScheduledChangeId, SubscriptionId, UpgradeId, UserId,
    WebhookEndpointId,
};
use crate::domain::job::{ItemKind, ItemOutcome, JobStatus};
use crate::domain::plan::{Commerce, TermDuration};
use crate::domain::records::EndpointStatus;
use crate::domain::records::{ChangeKind, RelationshipStatus, ScheduledKind};
use crate::domain::subscription::{BillingCycle, Channel, SubscriptionStatus};

macro_rules! text_column {
    ($($name:ty),* $(,)?) => {$(
        impl Type<Postgres> for $name {
            fn type_info() -> PgTypeInfo {
                <&str as Type<Postgres>>::type_info()
            }

            fn compatible(ty: &PgTypeInfo) -> bool {
                <&str as Type<Postgres>>::compatible(ty)
            }
        }

        impl Encode<'_, Postgres> for $name {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as Encode<Postgres>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl PgHasArrayType for $name {
            fn array_type_info() -> PgTypeInfo {
                <&str as PgHasArrayType>::array_type_info()
            }

            fn array_compatible(ty: &PgTypeInfo) -> bool {
                <&str as PgHasArrayType>::array_compatible(ty)
            }
        }

        impl<'r> Decode<'r, Postgres> for $name {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                let name = <&str as Decode<Postgres>>::decode(value)?;
                <$name>::parse(name).ok_or_else(|| {
                    format!("{name:?} is not a {}", stringify!($name)).into()
                })
            }
        }
    )*};
}

text_column!(
    Commerce,
    TermDuration,
    SubscriptionStatus,
    Channel,
    BillingCycle,
    AddOnStatus,
    RelationshipStatus,
    ChangeKind,
    EndpointStatus,
    ScheduledKind,
    JobStatus,
    ItemKind,
    ItemOutcome,
);

/// The typed ids are UUID columns.
macro_rules! uuid_column {
    ($($name:ty),* $(,)?) => {$(
        impl Type<Postgres> for $name {
            fn type_info() -> PgTypeInfo {
                <Uuid as Type<Postgres>>::type_info()
            }
        }

        impl Encode<'_, Postgres> for $name {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <Uuid as Encode<Postgres>>::encode_by_ref(&self.as_uuid(), buf)
            }
        }

        impl<'r> Decode<'r, Postgres> for $name {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                <Uuid as Decode<Postgres>>::decode(value).map(<$name>::from)
            }
        }

        impl PgHasArrayType for $name {
            fn array_type_info() -> PgTypeInfo {
                <Uuid as PgHasArrayType>::array_type_info()
            }
        }
    )*};
}

uuid_column!(
    PartnerId,
    CustomerId,
    SubscriptionId,
    UpgradeId,
    JobId,
    ScheduledChangeId,
    AddOnId,
    UserId,
    WebhookEndpointId,
);

/// A subscription's seat windows are a `jsonb` array.
impl Type<Postgres> for SeatWindows {
    fn type_info() -> PgTypeInfo {
        <Json<Vec<SeatWindow>> as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <Json<Vec<SeatWindow>> as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for SeatWindows {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <Json<&Vec<SeatWindow>> as Encode<Postgres>>::encode_by_ref(&Json(&self.0), buf)
    }
}

impl<'r> Decode<'r, Postgres> for SeatWindows {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <Json<Vec<SeatWindow>> as Decode<Postgres>>::decode(value).map(|json| SeatWindows(json.0))
    }
}
