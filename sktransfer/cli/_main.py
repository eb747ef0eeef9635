"""``main``: parse, run the sub-command, and turn its end into an exit status."""

from __future__ import annotations

import os
import sys

from ._errors import EXIT_BUG, EXIT_INTERRUPTED, error_line, exit_code
from ._output import to_devnull
from ._parser import build_parser


def main(argv=None) -> int:
    """Run the ``sktransfer`` command; return its exit status.

    0 on success (candidates that failed, and rows skipped with ``--unusable-rows
    skip``, are listed on stderr and in the report); 2 when the data or
    arguments cannot be used: one line on stderr says what and how to fix it;
    130 when interrupted (Ctrl-C): one line says what was stored. A reader that
    closes stdout early (``| head``) is not an error. Any other exception is a
    bug: it propagates with its traceback (exit 1).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    # The main job is the default: `sktransfer` alone runs the demo, and
    # `sktransfer data.csv --target y` means `sktransfer evaluate data.csv ...`.
    if not argv or argv[0] not in {"evaluate", "predict", "cache", "-h", "--help", "--version"}:
        argv = ["evaluate", *argv]
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        status = args.run(args)
        sys.stdout.flush()
        return status
    except KeyboardInterrupt:
        said = getattr(args, "on_interrupt", None)
        said = f": {said()}" if said else ""
        # On a terminal the line starts after the ^C the terminal echoed.
        start = "\n" if sys.stderr.isatty() else ""
        print(f"{start}sktransfer {args.command}: interrupted{said}.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # A reader closed a pipe the run still wrote to, outside say(): end quietly.
        to_devnull(sys.stdout)
        to_devnull(sys.stderr)
        return 1
    except Exception as exc:
        code = exit_code(exc)
        if code == EXIT_BUG:
            raise
        print(f"sktransfer {args.command}: error: {error_line(exc)}", file=sys.stderr)
        return code
