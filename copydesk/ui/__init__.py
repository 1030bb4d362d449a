"""Streamlit pages and widgets. Pages only draw; logic lives in the service layer."""
