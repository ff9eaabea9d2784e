"""``python -m geoverify``."""

from geoverify.cli import main

main()
