//! Permissions as data: what each role may do, and the one function that answers it.

use huddle_proto::Role;
use std::fmt;

/// One thing a member may be allowed to do. The wire name appears in `permission_denied`
/// messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Permission {
    /// Send own audio and video (unmute, camera on, talking).
    Publish,
    /// Share own screen (needs publish, and admin while sharing is locked).
    ShareScreen,
    /// Send chat messages.
    Chat,
    /// Raise or lower own hand, react, change own metadata.
    Participate,
    /// Send on in-meeting apps' channels: messages, state snapshots, invitations. Anyone may
    /// open an app and receive.
    AppSend,
    /// Host controls over others and the session: mute, stop video, ask to unmute, rename,
    /// remove, lock, lock sharing, audience chat, lower hands, spotlight, promote, demote,
    /// change the room's and other members' metadata.
    Admin,
    /// Make or revoke managers.
    ManageRoles,
    /// Hand the host role to someone else.
    TransferHost,
    /// End the session for everyone.
    EndSession,
}

impl Permission {
    /// The wire name, as in `"share_screen"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Publish => "publish",
            Permission::ShareScreen => "share_screen",
            Permission::Chat => "chat",
            Permission::Participate => "participate",
            Permission::AppSend => "app_send",
            Permission::Admin => "admin",
            Permission::ManageRoles => "manage_roles",
            Permission::TransferHost => "transfer_host",
            Permission::EndSession => "end_session",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The permissions one member holds right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // one flag per permission is the point
pub struct Grants {
    /// See [`Permission::Publish`].
    pub publish: bool,
    /// See [`Permission::ShareScreen`].
    pub share_screen: bool,
    /// See [`Permission::Chat`].
    pub chat: bool,
    /// See [`Permission::Participate`].
    pub participate: bool,
    /// See [`Permission::AppSend`].
    pub app_send: bool,
    /// See [`Permission::Admin`].
    pub admin: bool,
    /// See [`Permission::ManageRoles`].
    pub manage_roles: bool,
    /// See [`Permission::TransferHost`].
    pub transfer_host: bool,
    /// See [`Permission::EndSession`].
    pub end_session: bool,
}

impl Grants {
    /// Whether these grants include `permission`.
    #[must_use]
    pub fn allows(&self, permission: Permission) -> bool {
        match permission {
            Permission::Publish => self.publish,
            Permission::ShareScreen => self.share_screen,
            Permission::Chat => self.chat,
            Permission::Participate => self.participate,
            Permission::AppSend => self.app_send,
            Permission::Admin => self.admin,
            Permission::ManageRoles => self.manage_roles,
            Permission::TransferHost => self.transfer_host,
            Permission::EndSession => self.end_session,
        }
    }
}

/// The grants of `role` given the session's settings: whether screen sharing is locked to
/// host and managers, and whether the audience may chat. This is the permission table of
/// the specification; nothing else decides who may do what.
#[must_use]
pub fn grants(role: Role, share_locked: bool, audience_chat: bool) -> Grants {
    let host = role == Role::Host;
    let admin = matches!(role, Role::Host | Role::Manager);
    let publish = role != Role::Audience;
    Grants {
        publish,
        share_screen: publish && (admin || !share_locked),
        chat: publish || audience_chat,
        participate: true,
        app_send: publish,
        admin,
        manage_roles: host,
        transfer_host: host,
        end_session: host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_the_specification() {
        let h = grants(Role::Host, true, false);
        assert!(h.admin && h.manage_roles && h.end_session && h.share_screen);
        let m = grants(Role::Manager, true, false);
        assert!(m.admin && m.share_screen && !m.manage_roles && !m.transfer_host);
        let p = grants(Role::Participant, true, false);
        assert!(p.publish && p.chat && !p.share_screen && !p.admin);
        assert!(grants(Role::Participant, false, false).share_screen);
        let a = grants(Role::Audience, false, false);
        assert!(!a.publish && !a.chat && a.participate && !a.share_screen && !a.app_send);
        assert!(p.app_send && m.app_send && h.app_send);
        assert!(grants(Role::Audience, false, true).chat);
    }
}
