"""Score saved predictions again under a named DeepLesion FROC protocol, without the model.

    python tools/test.py CONFIG CHECKPOINT --out preds.pkl
    python tools/analysis_tools/eval_metric.py CONFIG preds.pkl --protocol 3dce [--out-json m.json]

The ground truth comes from CONFIG's test dataset (``--data-root`` / ``--cfg-options`` as given
to ``tools/test.py``), the metric settings from its ``test_evaluator`` with ``--protocol`` in
place of its own. ``3dce`` and ``mulan`` score without ``Possibly_noisy`` rows, as their
reference code does: the dataset is built with ``noisy_lesions='drop'`` for them, and the
predictions of key slices that leaves without a lesion are not scored (the count is printed).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from mmengine.config import DictAction

from mmlesion.evaluation import FROC_PROTOCOLS, deeplesion_metric_kwargs, rescore_predictions
from mmlesion.utils import load_config, set_data_root
from mmlesion.utils.safe_pickle import load_predictions


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='the config whose test split was predicted')
    parser.add_argument('pkl_results', help='predictions written by tools/test.py --out')
    parser.add_argument(
        '--protocol',
        choices=tuple(FROC_PROTOCOLS),
        help="FROC protocol (default: the config's test_evaluator's, else 'mmlesion')",
    )
    parser.add_argument(
        '--data-root', help='one DeepLesion folder (DL_info.csv, Images_png/) for every split'
    )
    parser.add_argument('--out-json', help='also write the metrics to this JSON file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override config fields: key=value'
    )
    return parser.parse_args()


def main() -> None:
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope

    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    metric_kwargs = deeplesion_metric_kwargs(cfg.test_evaluator)
    if args.protocol is not None:
        metric_kwargs['protocol'] = args.protocol
    protocol = FROC_PROTOCOLS[metric_kwargs.get('protocol', 'mmlesion')]
    dataset_cfg = cfg.test_dataloader.dataset
    if protocol.drop_noisy and dataset_cfg.get('noisy_lesions', 'keep') != 'drop':
        print(f'protocol {protocol.name!r} scores without Possibly_noisy rows: noisy_lesions=drop')
        dataset_cfg.noisy_lesions = 'drop'

    init_default_scope(cfg.get('default_scope', 'mmdet'))
    dataset = DATASETS.build(dataset_cfg)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    result = rescore_predictions(
        load_predictions(args.pkl_results),
        infos,
        classes=dataset.metainfo['classes'],
        **metric_kwargs,
    )
    print(
        f'{result.num_images} key slices scored, protocol {protocol.name!r} ({protocol.reference})'
    )
    if result.left_out:
        print(f'{len(result.left_out)} predictions of key slices not in the dataset not scored')
    width = max(len(key) for key in result.metrics)
    for key, value in result.metrics.items():
        print(f'{key:<{width}}  {value:.4f}')
    if args.out_json:
        # JSON has no NaN: an undefined metric is written as null.
        record = {k: None if math.isnan(v) else v for k, v in result.metrics.items()}
        Path(args.out_json).write_text(
            json.dumps(
                {
                    'protocol': protocol.name,
                    'num_images': result.num_images,
                    'num_left_out': len(result.left_out),
                    'metrics': record,
                },
                indent=1,
            )
            + '\n'
        )


if __name__ == '__main__':
    main()
