"""One module per page. Streamlit runs each file as a script (``__name__ == "__main__"``),
which calls its ``page()``; tests may import and call ``page()`` too."""
