"""``python -m worker.cli``: the ``nodewatch`` command without its console script."""

from worker.cli import main

raise SystemExit(main())
