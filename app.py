"""copydesk: the Streamlit app. Run with ``streamlit run app.py`` (see README, "The app").

Page config and navigation only; the pages live in ``copydesk/ui/pages/``.
"""

import streamlit as st

from copydesk.ui.navigation import pages

st.set_page_config(page_title="copydesk", page_icon=":material/edit_note:", layout="wide")
st.navigation(pages()).run()
