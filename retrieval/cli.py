"""The retrieval commands of ``industry-qa``: index, add and feeds (their lines are for whoever runs
the corpus, in English like the log).

``bot.cli`` composes the command line from these and the bot's own (``ask`` and ``eval`` show answers,
whose words are the bot's); retrieval never imports the bot.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from .corpus import ArticleError, check_article_name, load_article
from .ingest_cli import add_urls, is_url
from .settings import RetrievalSettings

Subparsers = argparse._SubParsersAction  # type: ignore[type-arg]
Common = Callable[[argparse.ArgumentParser], None]  # adds the shared options (--corpus, --data, -v)


def register_index(sub: Subparsers, common: Common) -> None:
    p = sub.add_parser("index", help="(re)build the index; only new or changed articles are embedded")
    p.add_argument("--rebuild", action="store_true", help="ignore the existing index (fixes a corrupt or mismatched one)")
    common(p)
    p.set_defaults(func=cmd_index)


def register_add(sub: Subparsers, common: Common) -> None:
    p = sub.add_parser("add", help="add articles by URL (fetched) or file (copied) to the corpus and index them")
    p.add_argument("files", nargs="+", metavar="URL_OR_FILE")
    common(p)
    p.set_defaults(func=cmd_add)


def settings_from(args: argparse.Namespace) -> RetrievalSettings:
    return RetrievalSettings.from_env().with_paths(corpus=args.corpus, data=args.data)


def cmd_index(args: argparse.Namespace) -> int:
    from .index import build_index

    settings = settings_from(args)
    show = args.verbose or sys.stderr.isatty()  # a long run says how far it is and when it will end
    report = build_index(settings, rebuild=args.rebuild, progress=(lambda m: print(m, file=sys.stderr, flush=True)) if show else None)
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"indexed {settings.corpus_dir} -> {settings.index_dir}: {report.summary()}")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    url_status = add_urls(settings, [a for a in args.files if is_url(a)]) if any(map(is_url, args.files)) else 0
    files = [Path(a) for a in args.files if not is_url(a)]
    failed = add_files(settings, files) if files else 0
    return 1 if failed or url_status else 0


def add_files(settings: RetrievalSettings, files: list[Path]) -> int:
    """Copy readable article files into the corpus and index them: both land, or neither does
    (the copies are removed if indexing fails). Returns the number of files refused."""
    from .index import build_index, writer_lock

    target = settings.articles_dir
    target.mkdir(parents=True, exist_ok=True)
    failed = 0
    with writer_lock(settings.index_dir):
        copied: list[tuple[Path, str]] = []
        for src in files:
            try:
                check_article_name(src.name)
                article = load_article(src)
            except ArticleError as err:
                print(f"error: {src}: {err}; not added", file=sys.stderr)
                failed += 1
                continue
            dest = target / src.name
            if dest.exists() and dest.read_bytes() == src.read_bytes():
                print(f"already in the corpus: {dest.relative_to(settings.corpus_dir)}")
                continue
            stem, n = src.stem, 2
            while dest.exists():
                dest, n = target / f"{stem}-{n}{src.suffix}", n + 1
            shutil.copyfile(src, dest)
            copied.append((dest, article.title))
        if not copied:
            return failed
        try:
            report = build_index(settings)
        except BaseException as err:
            for dest, _ in copied:
                dest.unlink(missing_ok=True)
            err.add_note("indexing failed, so the copied files were removed again")
            raise
    for dest, title in copied:
        print(f"added {dest.relative_to(settings.corpus_dir)} ({title})")
    print(f"indexed: {report.summary()}")
    return failed
