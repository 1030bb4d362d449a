"""The Streamlit app: page config and navigation only; the pages live in
:mod:`copydesk.ui.pages`. ``streamlit run app.py`` (the repository's shim) and
``copydesk app`` (which runs this file, so it works from an installed wheel) both land
here."""

import streamlit as st

from copydesk.ui.navigation import run
from copydesk.ui.session import errors_shown


def main() -> None:
    """Configure the page and run the navigation the signed-in user may see (and the
    page the address asks for, after signing in when needed). A
    :class:`CopydeskError` a page did not handle (a broken policy or audit chain, say)
    shows as its message, never as a traceback."""
    st.set_page_config(page_title="copydesk", page_icon=":material/edit_note:", layout="wide")
    with errors_shown():
        run()


if __name__ == "__main__":
    main()
