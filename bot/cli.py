"""The ``industry-qa`` command: the one place that puts the command line together.

Each layer registers its own commands (``retrieval.cli``: index, add, feeds; ``bot.ask_cli``: ask,
eval; ``bot.serve_cli``: serve; ``bot.digest.cli``: digest; ``bot.ops_cli``: stats, health); this
module adds the shared options and turns expected failures into one ``error:`` line with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.ask_cli import register_ask, register_eval
from bot.digest.cli import register_digest
from bot.ops_cli import register_ops
from bot.serve_cli import register_serve
from retrieval import cli as retrieval_cli
from retrieval.errors import RetrievalError
from retrieval.ingest_cli import register_feeds
from retrieval.settings import SettingsError, load_env_file

logger = logging.getLogger("industry_qa")


def common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", help="corpus folder (default: $CORPUS_DIR or ./corpus)")
    p.add_argument("--data", help="index/state folder (default: $DATA_DIR or ./data)")
    p.add_argument("-v", "--verbose", action="store_true", help="more detail (timings, debug log)")
    p.add_argument("--env-file", type=Path, default=None,
                   help="settings file to read (default: ./.env of the working directory, if any)")


def installed_version() -> str:
    """The installed package's version (pyproject.toml's), what a bug report should name."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("industry-qa")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="industry-qa", description="Cited answers from an industry news corpus.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    retrieval_cli.register_index(sub, common_options)
    register_ask(sub, common_options)
    retrieval_cli.register_add(sub, common_options)
    register_eval(sub, common_options)
    register_feeds(sub, common_options, retrieval_cli.settings_from)
    register_serve(sub, common_options)
    register_digest(sub, common_options)
    register_ops(sub, common_options)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Exit status: what the command returns (0, or 1 when part of the work
    failed), 2 when it failed as a whole (one ``error:`` line on stderr), 130 when interrupted."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        load_env_file(getattr(args, "env_file", None))
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `industry-qa ask ... | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as err:
        print(f"error: {error_line(err)}", file=sys.stderr)
        return 2


# errno values that mean "no room" and "may not write here"
_NO_ROOM = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR}


def error_line(err: BaseException) -> str:
    """One line for a command that failed: expected failures (settings, index, model, a full disk,
    a folder that cannot be written, a database that cannot be written) in their own words, and
    anything else named by its type, its traceback logged at DEBUG (``-v``)."""
    if isinstance(err, RetrievalError | SettingsError | ValueError):
        text = str(err)
    elif isinstance(err, OSError):
        where = f": {err.filename}" if err.filename else ""
        text = f"{err.strerror or err}{where}"
        if err.errno in _NO_ROOM:
            text += " (the disk is full or the file size limit was reached)"
        elif err.errno in _NOT_WRITABLE:
            text += " (check that the folder exists and may be written; see --data)"
    elif isinstance(err, sqlite3.Error):
        text = f"a database in the data folder failed ({err}); is the disk full or the folder read-only?"
    else:
        logger.debug("unexpected failure", exc_info=err)
        text = f"unexpected failure ({type(err).__name__}: {err}); run again with -v for details"
    notes = getattr(err, "__notes__", None) or []
    return "; ".join([text, *notes]).replace("\n", " ")


if __name__ == "__main__":
    sys.exit(main())
