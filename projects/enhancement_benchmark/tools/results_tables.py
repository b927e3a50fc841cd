"""Regenerate the result tables of the README and docs/en/results.md from the study JSONs.

python projects/enhancement_benchmark/tools/results_tables.py          # rewrite them
python projects/enhancement_benchmark/tools/results_tables.py --check  # exit 1 if stale
"""

import sys
from pathlib import Path

# The repository root on the path, so that `projects.enhancement_benchmark` imports from a checkout.
ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

import argparse
import json

from mmlesion.utils import atomic_write_text
from projects.enhancement_benchmark.benchmark.results_tables import (
    BENCHMARK_JSON,
    NEW_SCANNER_JSON,
    fill,
    load_results,
    stale_documents,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--json', default=str(ROOT / BENCHMARK_JSON), help='the benchmark JSON')
    parser.add_argument(
        '--new-scanner-json',
        default=str(ROOT / NEW_SCANNER_JSON),
        help='the new-scanner study JSON (tools/new_scanner.py)',
    )
    parser.add_argument('--check', action='store_true', help='only report stale documents')
    args = parser.parse_args()
    results = {
        **load_results(ROOT),
        BENCHMARK_JSON: json.loads(Path(args.json).read_text()),
        NEW_SCANNER_JSON: json.loads(Path(args.new_scanner_json).read_text()),
    }
    stale = stale_documents(ROOT, results)
    if args.check:
        for doc in stale:
            print(f'{doc}: its generated tables differ from {args.json} / {args.new_scanner_json}')
        return 1 if stale else 0
    for doc in stale:
        atomic_write_text(ROOT / doc, fill((ROOT / doc).read_text(), results))
        print(f'rewrote the tables of {doc}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
