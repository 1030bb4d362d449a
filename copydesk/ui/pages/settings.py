"""Settings: your password; for admins, users and roles, the LLM endpoint with a
connection test, and the active policy packs (read-only, with their sources)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from copydesk.errors import CopydeskError
from copydesk.models import User
from copydesk.services import Desk, endpoints
from copydesk.ui import session
from copydesk.ui.highlight import md_escape
from copydesk.ui.messages import error_text, readable_rows, relative_name
from copydesk.ui.policy_view import policy_rows
from copydesk.vocab import Role

ROLES = [r.value for r in Role]


def _set_password(d: Desk, user: User) -> None:
    new, again = st.session_state.get("pw_new", ""), st.session_state.get("pw_again", "")
    if new != again:
        session.flash("The two passwords differ.", "error")
    else:
        session.run_action("Password changed.", session.set_own_password, new)


def _account(d: Desk, user: User) -> None:
    st.subheader("Your account")
    st.write(f"**{user.name}** · roles: {', '.join(r.value for r in user.roles)}")
    with st.form("password", clear_on_submit=True):
        st.text_input("New password", type="password", key="pw_new",
                      help=f"at least {session.MIN_PASSWORD} characters, not a common password")
        st.text_input("Repeat it", type="password", key="pw_again")
        st.form_submit_button("Change password", on_click=_set_password, args=(d, user))


def _add_user(d: Desk, actor: str) -> None:
    s = st.session_state
    name, password, roles = s.get("nu_name", "").strip(), s.get("nu_password", ""), s.get("nu_roles", [])
    session.run_action(f"User {name} added.", d.add_user, name, [Role(r) for r in roles], password, actor=actor)


def _save_user(d: Desk, name: str, actor: str) -> None:
    s = st.session_state
    roles = [Role(r) for r in s.get(f"roles_{name}", [])]
    active = bool(s.get(f"active_{name}", True))
    try:
        user = d.get_user(name)
        if set(roles) != set(user.roles):
            d.set_roles(name, roles, actor=actor)
        if active != user.active:
            d.set_active(name, active, actor=actor)
    except CopydeskError as exc:
        session.flash(str(exc), "error")
        return
    session.flash(f"{name} saved.")


def _users(d: Desk, admin: User) -> None:
    st.subheader("Users and roles")
    st.caption("Users are never deleted (the audit log keeps naming them): deactivate them instead.")
    for u in d.list_users():
        with st.form(f"user_{u.name}"):
            c1, c2, c3, c4 = st.columns([1, 3, 1, 1])
            c1.markdown(f"**{u.name}**")
            c2.multiselect("Roles", ROLES, default=[r.value for r in u.roles], key=f"roles_{u.name}",
                           label_visibility="collapsed")
            c3.checkbox("active", value=u.active, key=f"active_{u.name}")
            c4.form_submit_button("Save", on_click=_save_user, args=(d, u.name, admin.name))
    with st.form("new_user", clear_on_submit=True):
        st.markdown("**Add a user**")
        c1, c2, c3 = st.columns([1, 1, 2])
        c1.text_input("User name", key="nu_name")
        c2.text_input("Initial password", type="password", key="nu_password",
                      help=f"at least {session.MIN_PASSWORD} characters, not a common password")
        c3.multiselect("Roles", ROLES, key="nu_roles")
        st.form_submit_button("Add user", on_click=_add_user, args=(d, admin.name))


def _endpoint(d: Desk) -> None:
    assert d.workspace is not None
    st.subheader("LLM endpoint")
    st.caption(f"Set in {d.workspace.config_path.name} (`llm:`) or with COPYDESK_LLM_* environment variables; "
               "API keys only ever come from the environment.")
    try:
        configured = endpoints.endpoint_settings(d.workspace)
    except CopydeskError as exc:
        st.error(md_escape(error_text(exc, d.workspace.root)))
        return
    st.write(endpoints.endpoint_label(configured))
    with st.expander("All settings in force"):
        st.markdown("\n".join(f"- **{md_escape(r['field'])}**: {md_escape(r['value'])}"
                               for r in readable_rows(configured.public())))
    c1, c2 = st.columns(2)
    base_url = c1.text_input("Test another base URL (optional)", key="llm_base_url")
    model = c2.text_input("Model (optional)", key="llm_model")
    if st.button("Test the connection", key="llm_test"):
        with st.spinner("asking a short question..."):
            try:
                settings = endpoints.endpoint_settings(d.workspace, base_url=base_url, model=model)
                st.success(endpoints.connection_test(d.workspace, settings).message)
            except CopydeskError as exc:
                st.error(f"The connection test failed: {exc}")


def _policy(d: Desk) -> None:
    st.subheader("Active policy packs")
    try:
        policy = d.policy
    except CopydeskError as exc:
        st.error(error_text(exc, d.workspace.root if d.workspace else None))
        return
    if policy is None:
        st.info("No policy packs: drafts get no guardrail findings.")
        return
    st.caption("Read-only: edit the YAML packs in the workspace's guardrails/ folder (versioned in git).")
    root = d.workspace.root if d.workspace else None
    st.markdown("\n".join(f"- `{relative_name(f, root)}`" for f in policy.files))
    rows = policy_rows(policy, root)
    for row in rows:  # packs outside the workspace (built in) by file name, never a server path
        row["source"] = relative_name(row["source"], root)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def page() -> None:
    """Draw the Settings page."""
    user = session.require_user()
    d = session.desk()
    st.title("Settings")
    session.show_flashes()
    _account(d, user)
    if not session.allowed(user, "users.manage"):
        st.caption("Users, the LLM endpoint and the policy packs are managed by admins.")
        return
    users_tab, llm_tab, policy_tab = st.tabs(["Users", "LLM endpoint", "Policy packs"])
    with users_tab:
        _users(d, user)
    with llm_tab:
        _endpoint(d)
    with policy_tab:
        _policy(d)


if __name__ == "__main__":
    page()
