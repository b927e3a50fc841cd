"""Grad-CAM of a trained enhancer's regressor on test slices, for its clip-limit and grid heads.

For each slice writes ``<File_name>_gradcam.png``: the key slice the regressor sees, then the
Grad-CAM of the clip-limit head and of the grid-size head over it (what raises each output;
``--direction -1`` for what lowers it), titled with the parameters it chose.

    python tools/analysis_tools/gradcam_regressor.py configs/demo/enhancer_r18-w16_6e_synth.py \\
        work_dirs/demo/enhancer/best_deeplesion_mAP_epoch_N.pth --out work_dirs/gradcam
"""

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.registry import init_default_scope

from mmlesion.models.regressors import load_regressor_weights
from mmlesion.utils import (
    UNSAFE_LOAD_HELP,
    allow_unsafe_checkpoints,
    atomic_write_image,
    flush_denormals,
    load_config,
)
from mmlesion.visualization import gradcam_overlay, regressor_gradcam

TITLE_HEIGHT = 22


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='enhancer config (FrozenDetectorEnhancer)')
    parser.add_argument('checkpoint', help='trained enhancer checkpoint')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--split', default='test', choices=['train', 'val', 'test'])
    parser.add_argument('--num-images', type=int, default=8)
    parser.add_argument('--direction', type=int, default=1, choices=[1, -1])
    parser.add_argument('--unsafe-load-checkpoint', action='store_true', help=UNSAFE_LOAD_HELP)
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override config fields: key=value'
    )
    return parser.parse_args()


def _panel(image: np.ndarray, title: str) -> np.ndarray:
    canvas = np.zeros((image.shape[0] + TITLE_HEIGHT, image.shape[1], 3), np.uint8)
    canvas[TITLE_HEIGHT:] = image
    cv2.putText(canvas, title, (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255))
    return canvas


def main() -> None:
    flush_denormals()  # before any torch computation: mmlesion/utils/denormals.py
    args = parse_args()
    if args.unsafe_load_checkpoint:
        allow_unsafe_checkpoints()
    from mmdet.registry import DATASETS, MODELS

    cfg = load_config(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    preprocessor_cfg = cfg.model.data_preprocessor
    regressor = MODELS.build(preprocessor_cfg.regressor)
    load_regressor_weights(regressor, args.checkpoint)
    intensity_max = float(preprocessor_cfg.get('intensity_max', 255.0))
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.split = args.split
    dataset = DATASETS.build(dataset_cfg)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    for index in range(min(args.num_images, len(dataset))):
        item = dataset[index]
        image = item['inputs'].float() / intensity_max
        key = image[image.shape[0] // 2][None, None].clamp(0, 1)
        with torch.no_grad():
            clip, grid = regressor.eval()(key)
        shown = key[0, 0].numpy()
        gray = cv2.cvtColor(np.round(shown * 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
        panels = [_panel(gray, f'clip {clip.item():.2f}  grid {grid.item():.2f}')]
        for head in ('clip', 'grid'):
            cam = regressor_gradcam(regressor, key, head, direction=args.direction)[0].numpy()
            sign = '+' if args.direction > 0 else '-'
            panels.append(_panel(gradcam_overlay(shown, cam), f'Grad-CAM {head} head ({sign})'))
        name = Path(item['data_samples'].img_id).stem
        path = out / f'{name}_gradcam.png'
        atomic_write_image(path, np.concatenate(panels, axis=1))
        print(f'{path}  clip {clip.item():.2f}  grid {grid.item():.2f}')


if __name__ == '__main__':
    main()
