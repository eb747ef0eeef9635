"""``sktransfer cache``: what the embedding cache holds; verify, prune or clear it."""

from __future__ import annotations

from pathlib import Path

from .._location import default_cache_dir
from ._output import say


def run_cache(args) -> int:
    from .._cache import EmbeddingCache
    from ..exceptions import DataError

    directory = args.dir or default_cache_dir()
    if not Path(directory).is_dir():
        raise DataError(f"{str(directory)!r} is not a directory; pass the cache folder.")
    if args.quiet:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _cache_action(EmbeddingCache(directory), args)
    return _cache_action(EmbeddingCache(directory), args)


def _cache_action(cache, args) -> int:
    if args.action == "info":
        info = cache.info()
        say(f"{info['directory']}: {info['rows']:,} rows, {info['bytes']:,} bytes")
        damaged = 0
        for ns, entry in info["namespaces"].items():
            say(
                f"  {ns}: {entry['model']}: {entry['rows']:,} rows in {entry['shards']} "
                f"shards, {entry['bytes']:,} B"
            )
            for what in entry["damage"]:
                say(f"    damaged: {what}")
            damaged += len(entry["damage"])
        if damaged:
            say(
                f"{damaged} damaged entries (rows in a damaged shard region are not counted; "
                "a damaged index is rebuilt from the shards): 'verify' checks every row, "
                "'prune' removes the damage"
            )
        for old, files in info["old_formats"].items():
            say(f"  {old}/: {files:,} files of an old format, ignored ('prune' removes them)")
        return 0
    if args.action == "verify":
        report = cache.verify()
        bad = 0
        for ns, entry in report.items():
            say(
                f"  {ns}: {entry['rows']:,} rows in {entry['shards']} shards, "
                f"{entry['bad_rows']} damaged rows, {len(entry['bad_shards'])} unreadable shards"
            )
            for shard in entry["bad_shards"]:
                say(f"    unreadable: {shard}")
            bad += entry["bad_rows"] + len(entry["bad_shards"])
        say("ok" if not bad else f"{bad} damaged entries ('prune' removes them)")
        return 0 if not bad else 1
    if args.action == "prune":
        report = cache.prune(max_bytes=args.max_bytes)
        say(
            f"kept {report['kept']:,} rows, dropped {report['dropped']} damaged, evicted "
            f"{report['evicted_shards']} shards; {report['bytes']:,} bytes now"
        )
        return 0
    cache.clear()
    say(f"cleared {cache.directory}")
    return 0


def stored_so_far(store, args):
    """What an interrupted evaluation leaves: a function of nothing that says it."""
    before = store.stats["rows_embedded"]

    def note() -> str:
        n = store.stats["rows_embedded"] - before
        rows = f"{n} row{'s' * (n != 1)} embedded"
        if store.directory is None:
            said = f"the {rows} were kept in memory only (--no-cache): a rerun starts over"
        else:
            said = (
                f"the {rows} are stored in the cache {str(store.directory)!r}: a rerun "
                "with the same data and models embeds only the rest"
            )
        report = getattr(args, "report", None)
        return said + (f"; the report was written to {str(report)!r}" if report else "")

    return note
