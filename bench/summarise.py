"""Median and spread of several benchmark result files (the JSON written with --json).

python bench/summarise.py run1.json run2.json run3.json
"""

import json
import statistics
import sys


def main(paths: list[str]) -> None:
    runs = [json.load(open(path)) for path in paths]
    for variant in runs[0]:
        print(f"{variant}:")
        for metric in runs[0][variant]:
            values = [run[variant][metric] for run in runs if run[variant].get(metric) is not None]
            if not values or not isinstance(values[0], int | float):
                continue
            spread = f"{min(values):g}-{max(values):g}"
            print(f"  {metric:22} median {statistics.median(values):>9.1f}   range {spread}")


if __name__ == "__main__":
    main(sys.argv[1:])
