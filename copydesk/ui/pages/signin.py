"""Sign in."""

from __future__ import annotations

import streamlit as st

from copydesk.errors import CopydeskError
from copydesk.ui import session


def page(wanted: str | None = None) -> None:
    """Draw the sign-in form; ``wanted`` is the page the address asked for, which opens
    once signed in (the address stays, so the rerun lands there)."""
    st.title("Sign in to copydesk")
    session.show_flashes()
    if wanted:
        st.info(f"Sign in to open {wanted}.")
    with st.form("sign_in"):
        name = st.text_input("User name")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            session.sign_in(name, password)
        except CopydeskError as exc:
            st.error(str(exc))
            return
        st.rerun()
    sso = session.sso_settings()
    if sso is not None and session.sso_refused():
        st.button("Use another single sign-on account", key="sso_logout", on_click=st.logout,
                  icon=":material/switch_account:")
    elif sso is not None:
        st.button("Sign in with single sign-on", key="sso", on_click=st.login, args=(sso.provider,),
                  icon=":material/key:")
    st.caption("Forgotten password? An admin can set a new one in Settings, or run "
               "`copydesk user password NAME --as ADMIN`.")


if __name__ == "__main__":
    page()
