"""``python -m sktransfer``: the same as the ``sktransfer`` command."""

from .cli import main

raise SystemExit(main())
