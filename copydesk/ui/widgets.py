"""Small widgets shared by several pages."""

from __future__ import annotations

import streamlit as st

from copydesk.ui.filters import Page, paginate


def page_picker(total: int, *, key: str, size: int) -> Page:
    """A page number input (only when there is more than one page) and the page chosen."""
    wanted = int(st.session_state.get(key, 1) or 1)
    pg = paginate(total, wanted, size)
    if pg.number != wanted:
        st.session_state[key] = pg.number  # the list shrank: clamp before drawing the widget
    if pg.pages > 1:
        st.number_input(f"Page (of {pg.pages})", min_value=1, max_value=pg.pages, step=1, key=key)
    st.caption(pg.label)
    return pg
