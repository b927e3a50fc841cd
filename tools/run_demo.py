"""The main job on the embedded synthetic DeepLesion (``make demo``).

Generates the data, trains the demo detector, freezes it and trains the demo enhancer, then
compares the detector alone, fixed GLCAE, fixed CLAHE and the learned enhancer on the test
split. Writes results.md, results.json and figures into --work-dir. Finished stages are skipped
on a re-run unless --force.

    python tools/run_demo.py [--work-dir work_dirs/demo] [--seed 0] [--force]
"""

import argparse
import json
import time

from mmlesion.apis.demo import DemoPipeline, DemoSettings


def parse_args() -> argparse.Namespace:
    defaults = DemoSettings()
    parser = argparse.ArgumentParser(description='Run the mmlesion demo end to end')
    parser.add_argument('--work-dir', default=defaults.work_dir)
    parser.add_argument('--data-root', default=defaults.data_root)
    parser.add_argument('--seed', type=int, default=defaults.seed)
    parser.add_argument('--num-patients', type=int, default=defaults.num_patients)
    parser.add_argument('--image-size', type=int, default=defaults.image_size)
    parser.add_argument('--difficulty', type=float, default=defaults.difficulty)
    parser.add_argument('--force', action='store_true', help='re-run finished stages')
    parser.add_argument(
        '--detector-options',
        type=json.loads,
        default={},
        help='JSON dict of --cfg-options for the detector, e.g. \'{"train_cfg.max_epochs": 2}\'',
    )
    parser.add_argument(
        '--enhancer-options',
        type=json.loads,
        default={},
        help='JSON dict of --cfg-options for the enhancer and the evaluated pipelines',
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    settings = DemoSettings(
        work_dir=args.work_dir,
        data_root=args.data_root,
        seed=args.seed,
        num_patients=args.num_patients,
        image_size=args.image_size,
        difficulty=args.difficulty,
        force=args.force,
        detector_options=args.detector_options,
        enhancer_options=args.enhancer_options,
    )
    start = time.perf_counter()
    DemoPipeline(settings).run()
    print(
        f'Demo finished in {time.perf_counter() - start:.0f} s. Results: {args.work_dir}/results.md'
    )


if __name__ == '__main__':
    main()
