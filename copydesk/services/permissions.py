"""Who may do what. The service layer checks these; pages and the CLI only hide
what a user cannot do."""

from __future__ import annotations

from copydesk.errors import PermissionDenied
from copydesk.models import User
from copydesk.vocab import Role

#: action -> roles allowed to perform it
PERMISSIONS: dict[str, frozenset[Role]] = {
    "brief.write": frozenset({Role.COPYWRITER, Role.ADMIN}),
    "variant.write": frozenset({Role.COPYWRITER}),
    "variant.submit": frozenset({Role.COPYWRITER}),
    "variant.review": frozenset({Role.REVIEWER}),
    "variant.waive": frozenset({Role.REVIEWER}),
    "variant.retire": frozenset({Role.REVIEWER, Role.ADMIN}),
    "library.export": frozenset({Role.MARKETER, Role.REVIEWER, Role.ADMIN}),
    "campaign.run": frozenset({Role.MARKETER, Role.ADMIN}),
    "sends.record": frozenset({Role.MARKETER, Role.ADMIN}),
    "outcomes.import": frozenset({Role.MARKETER, Role.ADMIN}),
    "users.manage": frozenset({Role.ADMIN}),
}

_WORDS = {
    "brief.write": "write briefs",
    "variant.write": "write or edit variants",
    "variant.submit": "submit variants for review",
    "variant.review": "approve or reject variants",
    "variant.waive": "waive findings",
    "variant.retire": "retire variants",
    "library.export": "export the approved library",
    "campaign.run": "run campaigns",
    "sends.record": "record sends",
    "outcomes.import": "import outcomes",
    "users.manage": "manage users",
}


def can(user: User, action: str) -> bool:
    """True when any of ``user``'s roles allows ``action``."""
    return user.active and bool(PERMISSIONS[action] & set(user.roles))


def require(user: User, action: str) -> None:
    """Raise :class:`PermissionDenied` unless ``user`` may perform ``action``."""
    if not can(user, action):
        needed = " or ".join(sorted(r.value for r in PERMISSIONS[action]))
        have = ", ".join(r.value for r in user.roles) or "no role"
        raise PermissionDenied(
            f"{user.name} ({have}) may not {_WORDS[action]}: that needs the {needed} role"
        )
