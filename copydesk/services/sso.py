"""Single sign-on: which copydesk user an OpenID Connect identity is (docs/guides/admin.md).

Streamlit's native OIDC (``st.login``) proves who someone is at the identity provider;
this module decides which *copydesk* user that is, from the ``[copydesk_sso]`` section
of ``.streamlit/secrets.toml``. Nobody is ever created here: an admin adds users (and
their roles) first, so single sign-on cannot mint an admin. The rules, in order:

1. ``subjects``: the provider's stable subject id (``sub`` claim) to a user name;
2. ``emails``: a *verified* e-mail address (``email_verified`` true) to a user name;
3. ``domains``: a verified address in one of these domains whose local part is an
   existing, active user's name, for users who are **not** admins (an admin is mapped
   by rule 1 or 2 only, so whoever can create mailboxes cannot become an admin).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from copydesk.errors import AuthenticationError, InputError
from copydesk.models import User
from copydesk.vocab import Role

SECRETS_SECTION = "copydesk_sso"


class SsoConfig(BaseModel):
    """The ``[copydesk_sso]`` secrets section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subjects: dict[str, str] = Field(default_factory=dict)
    emails: dict[str, str] = Field(default_factory=dict)
    domains: list[str] = Field(default_factory=list)
    #: The ``[auth.NAME]`` provider the sign-in button uses (none: the only ``[auth]`` one).
    provider: str | None = None


def sso_config(section: Mapping[str, Any] | None) -> SsoConfig:
    """The mapping rules from the secrets section (empty rules when it is absent);
    :class:`InputError` naming the field when it is malformed."""
    try:
        return SsoConfig.model_validate(dict(section or {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InputError(f"[{SECRETS_SECTION}] {where}: {err['msg']}", source=".streamlit/secrets.toml",
                         field=where) from None


def _verified_email(claims: Mapping[str, Any]) -> str | None:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or claims.get("email_verified") is not True:
        return None
    return email.strip().lower()


def map_identity(claims: Mapping[str, Any], config: SsoConfig, users: Mapping[str, User]) -> str:
    """The copydesk user name for an OIDC identity (its ``sub``, ``email`` and
    ``email_verified`` claims), or :class:`AuthenticationError` saying why there is none."""
    name: str | None = None
    subject = claims.get("sub")
    if isinstance(subject, str) and subject in config.subjects:
        name = config.subjects[subject]
    email = _verified_email(claims)
    if name is None and email is not None:
        emails = {k.strip().lower(): v for k, v in config.emails.items()}
        if email in emails:
            name = emails[email]
        else:
            local, _, domain = email.rpartition("@")
            candidate = users.get(local)
            if (domain in {d.strip().lower() for d in config.domains} and candidate is not None
                    and Role.ADMIN not in candidate.roles):
                name = local
    shown = email or (subject if isinstance(subject, str) else "this account")
    if name is None:
        raise AuthenticationError(f"{shown} is not a copydesk user: ask an admin to add you")
    user = users.get(name)
    if user is None or not user.active:
        raise AuthenticationError(f"{shown} is not an active copydesk user: ask an admin")
    return name
