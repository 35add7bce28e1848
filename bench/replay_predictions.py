"""The predictive-alert table of several ``nodewatch replay --scenario predict-X -o json`` runs, with every
policy's figures pooled over all of them (the median lead time over every exhaustion, not of the medians):

    for x in linear rotation bursty imagegc daily leak step stops bitbrains; do
        .venv/bin/nodewatch replay --scenario predict-$x -o json > /tmp/predict-out/$x.json &   # 2-3 at once
    done
    .venv/bin/python bench/replay_predictions.py /tmp/predict-out/{linear,rotation,bursty,imagegc}.json ...

One process per scenario so that they run side by side (each replay starts its own kubesim and Redis; the figures
of one do not depend on the others); ``nodewatch replay`` with several ``--scenario`` prints the same table, one
scenario after the other. Lead times in seconds, as the command prints them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from worker.replay import forecasts


def load(path: Path) -> forecasts.Report:
    doc = json.loads(path.read_text())
    by_metric = {
        metric: {
            name: None if f == "n/a" else forecasts.Figures.from_summary(f) for name, f in policies.items()
        }
        for metric, policies in doc["predictions"].items()
    }
    return str(doc["scenario"]), by_metric


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "reports", nargs="+", type=Path, help="nodewatch replay -o json output, one scenario each"
    )
    args = ap.parse_args()
    print(forecasts.table(load(p) for p in args.reports))


if __name__ == "__main__":
    main()
