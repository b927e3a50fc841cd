"""How a trained setting policy chose on the test slices: the share off its most common setting
and its choices by acquisition profile (synthetic data's sidecar), as JSON.

    python tools/test.py \\
        projects/enhancement_benchmark/configs/policy/enhancer_r18-w16_synth_policy.py \\
        work_dirs/policy_seed0/policy.pth --out work_dirs/policy_seed0/predictions_policy.pkl
    python projects/enhancement_benchmark/tools/policy_report.py \\
        work_dirs/policy_seed0/predictions_policy.pkl --data-root data/synthetic_deeplesion
"""

import sys
from pathlib import Path

# The repository root on the path, so that `projects.enhancement_benchmark` imports from a checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import argparse
import json

from mmlesion.utils import atomic_write_json
from mmlesion.utils.safe_pickle import load_predictions
from projects.enhancement_benchmark.benchmark.acquisition_profiles import acquisition_profiles
from projects.enhancement_benchmark.benchmark.policy_report import policy_choice_report


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('predictions', help='tools/test.py --out file of the policy enhancer')
    parser.add_argument('--data-root', required=True, help='the data set (its acquisition sidecar)')
    parser.add_argument('--out', help='write the report here (JSON) as well as printing it')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with open(args.predictions, 'rb') as f:
        predictions = load_predictions(f)
    report = policy_choice_report(predictions, acquisition_profiles(args.data_root))
    if args.out:
        atomic_write_json(args.out, report, indent=1)
    print(json.dumps(report, indent=1))


if __name__ == '__main__':
    main()
