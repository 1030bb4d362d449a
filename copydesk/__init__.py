"""copydesk: governed LLM copy for personalized marketing."""

__version__ = "0.1.0"
