"""Which pages the navigation offers: first-run setup, sign-in, or the pages the
signed-in user's roles allow (the service layer refuses the rest anyway)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from copydesk.errors import CopydeskError
from copydesk.models import User
from copydesk.services.permissions import can
from copydesk.ui import session

PAGES_DIR = Path(__file__).resolve().parent / "pages"


@dataclass(frozen=True)
class PageSpec:
    """One page: its module file, title, icon, and the actions that make it visible
    (any of them; none = every signed-in user)."""

    module: str
    title: str
    icon: str
    needs_any: tuple[str, ...] = ()

    @property
    def path(self) -> Path:
        return PAGES_DIR / f"{self.module}.py"

    def visible_to(self, user: User) -> bool:
        """Whether ``user`` sees this page in the navigation."""
        return not self.needs_any or any(can(user, a) for a in self.needs_any)


PAGES: tuple[PageSpec, ...] = (
    PageSpec("overview", "Overview", ":material/dashboard:"),
    PageSpec("briefs", "Briefs", ":material/description:"),
    PageSpec("generate", "Generate", ":material/auto_awesome:", ("variant.write",)),
    PageSpec("review", "Review", ":material/fact_check:", ("variant.review",)),
    PageSpec("library", "Library", ":material/library_books:"),
    PageSpec("campaigns", "Campaigns", ":material/campaign:", ("campaign.run",)),
    PageSpec("audit", "Audit", ":material/receipt_long:"),
    PageSpec("settings", "Settings", ":material/settings:"),
)
SETUP = PageSpec("setup", "Create the first admin", ":material/person_add:")
SIGN_IN = PageSpec("signin", "Sign in", ":material/login:")


def visible_pages(user: User | None, has_users: bool) -> list[PageSpec]:
    """The pages to offer: setup with no users, sign-in with no user, else by role."""
    if not has_users:
        return [SETUP]
    if user is None:
        return [SIGN_IN]
    return [p for p in PAGES if p.visible_to(user)]


def _sidebar(user: User) -> None:
    with st.sidebar:
        st.markdown(f"Signed in as **{user.name}**")
        st.caption(", ".join(r.value for r in user.roles))
        st.button("Sign out", key="sign_out", on_click=session.sign_out, icon=":material/logout:")


def _page(spec: PageSpec, *, hidden: bool = False, default: bool = False) -> st.Page:
    return st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.module, default=default,
                   visibility="hidden" if hidden else "visible")


def pages() -> list[st.Page]:
    """The ``st.Page`` list for this run (draws the signed-in user's sidebar): the pages
    the user may see, then the others hidden, so an address like ``/library`` is never
    "Page not found" (:func:`run` decides what a hidden page shows)."""
    try:
        desk = session.desk()
        has_users = desk.has_users()
    except CopydeskError as exc:
        st.error(f"copydesk cannot open its workspace: {exc}")
        st.stop()
        raise  # unreachable: st.stop raises
    user = session.current_user() if has_users else None
    if user is not None:
        _sidebar(user)
    session.write_cookie()
    shown = visible_pages(user, has_users)
    listed = [_page(p) for p in shown]
    if has_users:
        listed += [_page(p, hidden=True) for p in PAGES if p not in shown]
    return listed


def run() -> None:
    """Run the page the address asks for, when this user may see it. Signed out, any
    page's address shows the sign-in form and, once signed in, that page (a reload or
    a bookmark lands where it pointed). A page the user's roles do not show says so."""
    listed = pages()
    chosen = st.navigation(listed)
    if not chosen.url_path or chosen.url_path in {p.url_path for p in listed if p.visibility == "visible"}:
        chosen.run()
        return
    wanted = next(p for p in PAGES if p.module == chosen.url_path)
    if session.current_user() is None:
        from copydesk.ui.pages import signin

        signin.page(wanted=wanted.title)
        return
    st.title(wanted.title)
    st.warning(f"Your roles do not include the {wanted.title} page. An admin can change roles in Settings.")
