"""copydesk: the Streamlit app. Run with ``streamlit run app.py`` (see docs/guides/).

The app lives in the package (:mod:`copydesk.ui.app`), so ``copydesk app`` works from
an installed wheel too; this file is the entry point for a source checkout.
"""

from copydesk.ui.app import main

main()
