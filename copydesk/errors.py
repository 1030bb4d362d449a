"""The one error tree. The CLI and the app show ``str(error)``, never a traceback."""

from __future__ import annotations


class CopydeskError(Exception):
    """Root of every expected failure copydesk reports to a user."""

    exit_code = 1


class UsageError(CopydeskError):
    """The command was called wrongly (bad option value, missing argument)."""

    exit_code = 2


class NotFoundError(CopydeskError):
    """An id, user, file or template that does not exist."""


class InputError(CopydeskError):
    """A file or value a user supplied is malformed.

    ``source``, ``line`` and ``field`` say where, so the message can name them.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = message
        self.source = source
        self.line = line
        self.field = field
        where = ""
        if source:
            where = source
            if line is not None:
                where += f":{line}"
            where += ": "
        if field:
            where += f"field '{field}': "
        super().__init__(f"{where}{message}")


class UnreadableValue(InputError):
    """A contact value a condition cannot evaluate (``2026-13-45`` where a date is
    compared). The row is rejected: an unevaluable rule must never let a message through."""

    def __init__(self, message: str, *, field: str, value: object) -> None:
        self.value = value
        super().__init__(f"{message}: {value!r}", field=field)


class PermissionDenied(CopydeskError):
    """The acting user lacks the role for this action."""


class AuthenticationError(CopydeskError):
    """Wrong user name or password."""


class InvalidTransition(CopydeskError):
    """The state machine does not allow this change from the current status."""


class SelfApprovalError(PermissionDenied):
    """Four eyes: a reviewer tried to approve a revision they authored or edited."""


class StaleRevisionError(CopydeskError):
    """Someone acted on a revision that is no longer the current one."""


class BlockedByFindings(CopydeskError):
    """A revision with an open block finding cannot be submitted or approved."""


class PolicyError(CopydeskError):
    """A policy pack is malformed or a policy test failed."""


class TemplateSafetyError(CopydeskError):
    """A template uses something the sandbox does not allow, or fails to parse."""


class RenderError(CopydeskError):
    """Rendering one message failed; the row goes to the rejects file."""


class LLMError(CopydeskError):
    """The model endpoint failed or returned unusable output after all retries."""


class PrivacyError(CopydeskError):
    """Personal data was found where it must not go (e.g. a brief bound for the model)."""


class AuditIntegrityError(CopydeskError):
    """The audit hash chain is broken."""
