//! The claims of a join token (an HS256 JWT). Verification lives in the server; this is only
//! the shape both the server and the token minting command agree on.

use crate::error::ProtoError;
use crate::message::Role;
use serde::{Deserialize, Serialize};

/// Claims of a join token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The session the token admits to (compared case-insensitively with the join's name).
    pub tpc: String,
    /// The role: 0 participant, 1 host, 2 manager, 3 audience. See [`Claims::role`].
    pub role_type: u8,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: u64,
    /// Not valid before, seconds since the Unix epoch; checked with the same leeway as `exp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// An identifier of the user in the issuer's own system, passed through to the room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_identity: Option<String>,
    /// An issuer-chosen key of this session instance: the instance a token with a key creates
    /// admits only tokens with the same key, and a key whose instance ended admits no more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
}

impl Claims {
    /// The role this token grants.
    ///
    /// # Errors
    /// [`ProtoError::UnknownRoleType`] for a `role_type` with no role.
    pub fn role(&self) -> Result<Role, ProtoError> {
        Role::from_role_type(self.role_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_round_trip_and_map_roles() -> Result<(), Box<dyn std::error::Error>> {
        let json = r#"{"tpc":"Standup","role_type":1,"iat":1700000000,"exp":1700003600}"#;
        let claims: Claims = serde_json::from_str(json)?;
        assert_eq!(claims.role()?, Role::Host);
        assert_eq!(claims.user_identity, None);
        let back: Claims = serde_json::from_str(&serde_json::to_string(&claims)?)?;
        assert_eq!(back, claims);
        for role in [Role::Host, Role::Manager, Role::Participant, Role::Audience] {
            assert_eq!(Role::from_role_type(role.role_type())?, role);
        }
        assert_eq!(
            Claims {
                role_type: 9,
                ..claims
            }
            .role(),
            Err(ProtoError::UnknownRoleType(9))
        );
        Ok(())
    }
}
