"""The service layer (see :mod:`copydesk.services.desk`)."""

from copydesk.services.desk import Desk

__all__ = ["Desk"]
