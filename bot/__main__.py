"""``python -m bot``: the ``industry-qa`` command; with no arguments it serves the bot."""

import sys

from bot.cli import main

sys.exit(main(sys.argv[1:] if len(sys.argv) > 1 else ["serve"]))
