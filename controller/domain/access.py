"""Who may do what, on which panels: roles, permissions and commune scope, as pure functions.

Every route asks these questions on the server, whatever the page showed: the browser is never trusted
to hide what a user may not touch. A commune user sees only their commune; asking for another
commune's panel or message answers as if it did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from controller.domain.errors import FieldError


class Role(StrEnum):
    ADMIN = "admin"
    CAMPAIGN_MANAGER = "campaign-manager"
    COMMUNE_EDITOR = "commune-editor"
    COMMUNE_APPROVER = "commune-approver"
    TECHNICIAN = "technician"
    VIEWER = "viewer"


ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.ADMIN: ("Administrateur", "Administrator"),
    Role.CAMPAIGN_MANAGER: ("Chargé de campagnes (préfecture)", "Campaign manager (prefecture)"),
    Role.COMMUNE_EDITOR: ("Rédacteur communal", "Commune editor"),
    Role.COMMUNE_APPROVER: ("Valideur communal", "Commune approver"),
    Role.TECHNICIAN: ("Technicien", "Technician"),
    Role.VIEWER: ("Lecteur", "Viewer"),
}

COMMUNE_ROLES = frozenset({Role.COMMUNE_EDITOR, Role.COMMUNE_APPROVER})


class Permission(StrEnum):
    PANELS_VIEW = "panels.view"
    PANELS_MANAGE = "panels.manage"  # register, revoke
    PANELS_COMMAND = "panels.command"  # refresh, brightness, blank, test pattern, screenshot
    MESSAGES_VIEW = "messages.view"
    MESSAGES_EDIT = "messages.edit"  # queue, edit, pause, cancel
    MESSAGES_APPROVE = "messages.approve"
    ALERTS_SEND = "alerts.send"
    ALERTS_APPROVE = "alerts.approve"
    CAMPAIGNS_VIEW = "campaigns.view"
    CAMPAIGNS_MANAGE = "campaigns.manage"  # create, invite, launch, stop, report
    CAMPAIGNS_ANSWER = "campaigns.answer"  # a commune accepts or declines an invitation
    USERS_MANAGE = "users.manage"
    AUDIT_VIEW = "audit.view"
    METRICS_VIEW = "metrics.view"  # scrape /metrics with one's API token
    NOTIFICATIONS_MANAGE = "notifications.manage"  # an organisation's conditions and mail server
    WEBHOOKS_MANAGE = "webhooks.manage"  # webhooks for apps and websites (commune users: their commune's)


_EVERYONE = frozenset({Permission.PANELS_VIEW})
_READ_CONTENT = frozenset({Permission.MESSAGES_VIEW, Permission.CAMPAIGNS_VIEW})

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.CAMPAIGN_MANAGER: _EVERYONE
    | _READ_CONTENT
    | {Permission.CAMPAIGNS_MANAGE, Permission.ALERTS_SEND, Permission.ALERTS_APPROVE},
    Role.COMMUNE_EDITOR: _EVERYONE
    | _READ_CONTENT
    | {Permission.MESSAGES_EDIT, Permission.CAMPAIGNS_ANSWER, Permission.WEBHOOKS_MANAGE},
    Role.COMMUNE_APPROVER: _EVERYONE
    | _READ_CONTENT
    | {
        Permission.MESSAGES_EDIT,
        Permission.MESSAGES_APPROVE,
        Permission.CAMPAIGNS_ANSWER,
        Permission.WEBHOOKS_MANAGE,
    },
    Role.TECHNICIAN: _EVERYONE | {Permission.PANELS_COMMAND, Permission.NOTIFICATIONS_MANAGE},
    Role.VIEWER: _EVERYONE | _READ_CONTENT,
}


@dataclass(frozen=True)
class Actor:
    """The person (or their script, through a token) behind a request."""

    user_id: int
    name: str
    role: Role
    organisation: str | None = None
    commune_insee: str | None = None  # set for commune roles: everything they touch is in it

    def can(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    def can_for(self, permission: Permission, organisation: str | None) -> bool:
        """The permission over what an organisation owns (approving, cancelling its alert): an
        administrator's over every organisation's, anyone else's over their own organisation's only
        (people of no organisation count as one: a campaign manager made without one still cancels
        the alerts of the others made so, and of no organisation's)."""
        if not self.can(permission):
            return False
        return self.role == Role.ADMIN or self.organisation == organisation

    def sees_commune(self, commune_insee: str | None) -> bool:
        """Commune users see their own commune only; everyone else sees the whole fleet."""
        return self.commune_insee is None or commune_insee == self.commune_insee

    @property
    def scoped(self) -> bool:
        return self.commune_insee is not None


def check_role_scope(role: Role, commune_insee: str | None) -> None:
    """Refuse a role and commune that do not go together: commune roles need one, others must not."""
    if role in COMMUNE_ROLES and not commune_insee:
        raise FieldError("commune", "the role {role} needs a commune (its INSEE code)", role=role.value)
    if role not in COMMUNE_ROLES and commune_insee:
        raise FieldError("commune", "the role {role} covers every commune: give no commune", role=role.value)
