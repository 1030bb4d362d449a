"""First run: create the first admin (there is no default password anywhere)."""

from __future__ import annotations

import streamlit as st

from copydesk.errors import CopydeskError
from copydesk.ui import session


def page() -> None:
    """Draw the first-admin form; on success sign the admin in."""
    st.title("Welcome to copydesk")
    d = session.desk()
    if d.has_users():
        st.info("An admin exists already: sign in.")
        st.rerun()
    st.write("This library has no users yet. Create the first admin: they can add the rest of "
             "the team (copywriters, reviewers, marketers) in **Settings**.")
    briefs = sorted(d.workspace.briefs_dir.glob("*.yaml")) if d.workspace and d.workspace.briefs_dir.is_dir() else []
    with st.form("first_admin"):
        name = st.text_input("User name", placeholder="e.g. alex",
                             help="2-32 lower-case letters, digits, '.', '_' or '-'")
        password = st.text_input("Password", type="password", help=f"at least {session.MIN_PASSWORD} characters")
        confirm = st.text_input("Repeat the password", type="password")
        import_briefs = st.checkbox(
            f"Import the workspace's {len(briefs)} brief file(s) into the library", value=bool(briefs),
            disabled=not briefs, help="briefs/*.yaml, imported as this admin",
        )
        submitted = st.form_submit_button("Create admin", type="primary")
    if not submitted:
        return
    try:
        result = session.create_first_admin(d, name, password, confirm, import_briefs=import_briefs)
    except CopydeskError as exc:
        st.error(str(exc))
        return
    session.sign_in(result.admin.name, password)
    session.flash(f"Admin {result.admin.name} created and signed in."
                  + (f" Imported {len(result.imported)} brief(s)." if result.imported else ""))
    for problem in result.problems:
        session.flash(f"Brief not imported: {problem}", "warning")
    st.rerun()


if __name__ == "__main__":
    page()
