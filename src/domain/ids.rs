//! Every id the service hands around, as a type of its own: the ids that scope every change (a
//! partner, its customer, the customer's subscription) and those of what hangs off them (an
//! upgrade, an upgrade job, a scheduled change, an add-on, a user, a webhook endpoint). Functions
//! take them in the lock order's words, so a partner id can never be passed where a customer's
//! is expected, nor an upgrade's where a job's is.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! ids {
    ($($(#[doc = $doc:literal])* $name:ident;)*) => {$(
        $(#[doc = $doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// The id as a plain UUID (for storage and for answers).
            pub fn as_uuid(self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                $name(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

ids! {
    /// A CSP partner: the token's tenant (`tid`).
    PartnerId;
    /// A customer of a partner.
    CustomerId;
    /// A subscription of a customer.
    SubscriptionId;
    /// A performed upgrade (whole or partial) of a customer's subscription.
    UpgradeId;
    /// A partner's bulk upgrade job.
    JobId;
    /// A change scheduled for a subscription's term end.
    ScheduledChangeId;
    /// An add-on bought on a subscription.
    AddOnId;
    /// A user account in a customer's directory.
    UserId;
    /// A partner's webhook endpoint.
    WebhookEndpointId;
}
