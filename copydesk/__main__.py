"""``python -m copydesk``."""

from copydesk.cli import main

main()
