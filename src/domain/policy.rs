//! Who may do what: the roles (docs/authentication.md) and the one table that maps them
//! to operations.

use serde::Serialize;
use utoipa::ToSchema;

/// A role a caller's token can carry. Any other role string grants nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    GlobalAdmin,
    UserManagementAdmin,
    AdminAgent,
    SalesAgent,
    HelpdeskAgent,
    /// Internal services that sync data bought through other channels.
    Platform,
}

impl Role {
    /// Every role, in the order of the README's table.
    pub const ALL: [Role; 6] = [
        Role::GlobalAdmin,
        Role::UserManagementAdmin,
        Role::AdminAgent,
        Role::SalesAgent,
        Role::HelpdeskAgent,
        Role::Platform,
    ];

    /// The token's name for the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::GlobalAdmin => "global_admin",
            Role::UserManagementAdmin => "user_management_admin",
            Role::AdminAgent => "admin_agent",
            Role::SalesAgent => "sales_agent",
            Role::HelpdeskAgent => "helpdesk_agent",
            Role::Platform => "platform",
        }
    }

    /// The role a token string names, if it is one of ours.
    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == value)
    }
}

/// Something a caller asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// Read offers, prices and the upgrade matrix.
    ReadCatalog,
    /// Read customers and what they own: relationships, users, subscriptions, licenses, history.
    ReadCustomers,
    /// Create (onboard) a customer.
    CreateCustomer,
    /// Record a delegated admin relationship.
    ManageDelegatedAdmin,
    /// Create user accounts in a customer's directory.
    ManageUsers,
    /// Assign licenses to users.
    AssignLicenses,
    /// Buy a subscription.
    CreateSubscription,
    /// Record another channel's subscription, or a subscription's status, as synced data.
    RecordSyncedSubscription,
    /// Upgrade a subscription, change its seats, add-ons or status (the article's operation).
    ChangeSubscription,
    /// Register, list, enable, disable, recover and remove the partner's webhook endpoints.
    ManageWebhooks,
}

impl Operation {
    /// Every operation, in the order of the README's table.
    pub const ALL: [Operation; 10] = [
        Operation::ReadCatalog,
        Operation::ReadCustomers,
        Operation::CreateCustomer,
        Operation::ManageDelegatedAdmin,
        Operation::ManageUsers,
        Operation::AssignLicenses,
        Operation::CreateSubscription,
        Operation::RecordSyncedSubscription,
        Operation::ChangeSubscription,
        Operation::ManageWebhooks,
    ];
}

/// The role table. The article names global admin, user management admin, admin agent, sales
/// agent and helpdesk agent as the roles that may upgrade or add licenses; everything else follows
/// Partner Center's split of duties (sales buys, admins manage directories and admin rights).
pub fn permits(role: Role, operation: Operation) -> bool {
    use Operation::*;
    use Role::*;
    match operation {
        ReadCatalog | ReadCustomers => true,
        CreateCustomer => matches!(role, GlobalAdmin | AdminAgent | SalesAgent | Platform),
        ManageDelegatedAdmin => matches!(role, GlobalAdmin | AdminAgent | Platform),
        ManageUsers | AssignLicenses => {
            matches!(
                role,
                GlobalAdmin | UserManagementAdmin | AdminAgent | Platform
            )
        }
        CreateSubscription => matches!(role, GlobalAdmin | AdminAgent | SalesAgent | Platform),
        RecordSyncedSubscription => matches!(role, Platform),
        ChangeSubscription => matches!(
            role,
            GlobalAdmin | UserManagementAdmin | AdminAgent | SalesAgent | HelpdeskAgent
        ),
        ManageWebhooks => matches!(role, GlobalAdmin | AdminAgent | Platform),
    }
}

/// Whether any of `roles` permits `operation`.
pub fn any_permits(roles: &[Role], operation: Operation) -> bool {
    roles.iter().any(|&role| permits(role, operation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_articles_five_roles_may_change_subscriptions_and_nobody_else() {
        let allowed: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|&r| permits(r, Operation::ChangeSubscription))
            .collect();
        assert_eq!(
            allowed,
            [
                Role::GlobalAdmin,
                Role::UserManagementAdmin,
                Role::AdminAgent,
                Role::SalesAgent,
                Role::HelpdeskAgent
            ]
        );
    }

    #[test]
    fn only_platform_records_synced_subscriptions() {
        for role in Role::ALL {
            assert_eq!(
                permits(role, Operation::RecordSyncedSubscription),
                role == Role::Platform
            );
        }
    }

    #[test]
    fn no_role_means_no_operation() {
        for operation in Operation::ALL {
            assert!(!any_permits(&[], operation), "{operation:?}");
        }
    }

    #[test]
    fn role_names_round_trip_and_other_strings_are_not_roles() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        for other in ["billing_admin", "reader", "GLOBAL_ADMIN", ""] {
            assert_eq!(Role::parse(other), None);
        }
    }

    /// The README's role table is this table: parse it and compare every cell.
    #[test]
    fn readme_role_table_matches_the_code() {
        let readme = include_str!("../../README.md");
        let table = readme
            .split("<!-- role-table -->")
            .nth(1)
            .expect("README has a role table between <!-- role-table --> markers");
        let rows: Vec<Vec<&str>> = table
            .lines()
            .filter(|l| {
                l.starts_with('|') && !l.starts_with("|--") && !l.starts_with("| operation")
            })
            .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
            .collect();
        assert_eq!(rows.len(), Operation::ALL.len(), "one row per operation");
        for (row, operation) in rows.iter().zip(Operation::ALL) {
            for (cell, role) in row[1..].iter().zip(Role::ALL) {
                let documented = *cell == "yes";
                assert_eq!(
                    documented,
                    permits(role, operation),
                    "{operation:?} x {role:?}"
                );
            }
        }
    }
}
