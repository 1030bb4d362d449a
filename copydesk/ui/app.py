"""The Streamlit app: page config and navigation only; the pages live in
:mod:`copydesk.ui.pages`. ``streamlit run app.py`` (the repository's shim) and
``copydesk app`` (which runs this file, so it works from an installed wheel) both land
here."""

import streamlit as st

from copydesk.ui.navigation import pages


def main() -> None:
    """Configure the page and run the navigation the signed-in user may see."""
    st.set_page_config(page_title="copydesk", page_icon=":material/edit_note:", layout="wide")
    st.navigation(pages()).run()


if __name__ == "__main__":
    main()
