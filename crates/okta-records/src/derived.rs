//! Constructors for the records whose key columns the connector derives from the API object
//! itself (rather than from a parent id it already holds), so every caller derives them alike.

use crate::devices::{DeviceUser, DeviceUserRecord};
use crate::groups::GroupMemberRecord;
use crate::iam::RoleSubscriptionRecord;
use crate::meta::{LinkedObject, LinkedObjectDefinitionRecord};
use crate::security::{ThreatInsightConfiguration, ThreatInsightRecord};
use crate::types::Timestamp;
use crate::users::{Subscription, User};

/// The `id` of the single `threat_insight` record: the org has exactly one ThreatInsight
/// configuration and Okta gives it no id, so the connector uses this constant key.
pub const THREAT_INSIGHT_ID: &str = "threat_insight";

impl GroupMemberRecord {
    /// A `group_members` row: `user_id` is the member's `id`; `last_membership_updated` is the
    /// group's `lastMembershipUpdated` as read with the group (the stream's cursor).
    #[must_use]
    pub fn new(
        group_id: impl Into<String>,
        last_membership_updated: Option<Timestamp>,
        user: User,
    ) -> Self {
        Self {
            group_id: group_id.into(),
            user_id: user.id.clone(),
            last_membership_updated,
            item: user,
        }
    }
}

impl DeviceUserRecord {
    /// A `device_users` row: `user_id` is `user.id`; `None` when the API left the user out.
    #[must_use]
    pub fn new(device_id: impl Into<String>, item: DeviceUser) -> Option<Self> {
        let user_id = item.user.as_ref()?.id.clone();
        Some(Self {
            device_id: device_id.into(),
            user_id,
            item,
        })
    }
}

impl LinkedObjectDefinitionRecord {
    /// A `linked_object_definitions` row keyed by `primary.name`; `None` without one.
    #[must_use]
    pub fn new(item: LinkedObject) -> Option<Self> {
        let primary_name = item.primary.as_ref()?.name.clone()?;
        Some(Self { primary_name, item })
    }
}

impl RoleSubscriptionRecord {
    /// A `role_subscriptions` row keyed by the role and `notificationType`; `None` without one.
    #[must_use]
    pub fn new(role_type: impl Into<String>, item: Subscription) -> Option<Self> {
        let notification_type = item.notification_type.clone()?;
        Some(Self {
            role_type: role_type.into(),
            notification_type,
            item,
        })
    }
}

impl ThreatInsightRecord {
    /// The `threat_insight` row, keyed by [`THREAT_INSIGHT_ID`].
    #[must_use]
    pub fn new(item: ThreatInsightConfiguration) -> Self {
        Self {
            id: THREAT_INSIGHT_ID.to_owned(),
            item,
        }
    }
}
