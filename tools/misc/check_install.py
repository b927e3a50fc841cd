"""Check an mmlesion installation: versions, mmcv's compiled ops, the fused GLCAE kernel, CUDA.

    python tools/misc/check_install.py [--require-native-kernel] [--cuda]

Prints one line a check and exits non-zero at the first that fails, saying what to do. Both
``make venv`` and ``make venv-cuda`` end with it.
"""

from __future__ import annotations

import argparse
import sys


def check(require_native_kernel: bool, cuda: bool) -> list[str]:
    """The checks' report lines; raises ``RuntimeError`` naming the first that fails."""
    import cv2
    import mmcv
    import mmdet
    import mmengine
    import torch

    import mmlesion

    lines = [
        f'torch {torch.__version__}, mmcv {mmcv.__version__}, mmdet {mmdet.__version__}, '
        f'mmengine {mmengine.__version__}, opencv {cv2.__version__}, '
        f'mmlesion {mmlesion.__version__}'
    ]
    try:
        from mmcv.ops import nms
    except ImportError as error:
        raise RuntimeError(
            f'mmcv {mmcv.__version__} was installed without its compiled ops ({error}): reinstall '
            'it with MMCV_WITH_OPS=1 and pip --no-build-isolation (requirements/mmcv.txt)'
        ) from error
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0]])
    scores = torch.tensor([0.9, 0.8])
    kept = nms(boxes, scores, iou_threshold=0.5)[1]
    if kept.tolist() != [0]:
        raise RuntimeError(f'mmcv.ops.nms on the CPU kept {kept.tolist()}, expected [0]')
    lines.append('mmcv ops (CPU): nms ok')

    from mmlesion.enhancement import native

    if native.available():
        lines.append('fused CPU GLCAE kernel: built')
    elif require_native_kernel:
        raise RuntimeError(
            'mmlesion.enhancement._glcae_native was not built: reinstall with '
            '`pip install --no-build-isolation -e .` and read the compiler errors in its log'
        )
    else:
        lines.append('fused CPU GLCAE kernel: not built (glcae uses its torch ops)')

    if cuda:
        if not torch.cuda.is_available():
            raise RuntimeError(
                f'torch {torch.__version__} sees no CUDA device: install the CUDA build of '
                'requirements/torch.txt (make venv-cuda CUDA=cu130) on a machine with a GPU'
            )
        from mmcv.ops import RoIAlign

        kept = nms(boxes.cuda(), scores.cuda(), iou_threshold=0.5)[1]
        if kept.tolist() != [0]:
            raise RuntimeError(f'mmcv.ops.nms on CUDA kept {kept.tolist()}, expected [0]')
        features = torch.rand(1, 1, 8, 8, device='cuda')
        rois = torch.tensor([[0.0, 0.0, 0.0, 4.0, 4.0]], device='cuda')
        RoIAlign((2, 2), 1.0, 2)(features, rois)
        lines.append(f'mmcv ops (CUDA, {torch.cuda.get_device_name()}): nms, roi_align ok')
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--require-native-kernel',
        action='store_true',
        help='fail when the fused CPU GLCAE kernel was not compiled',
    )
    parser.add_argument('--cuda', action='store_true', help="also check CUDA and mmcv's CUDA ops")
    args = parser.parse_args(argv)
    try:
        for line in check(args.require_native_kernel, args.cuda):
            print(line)
    except RuntimeError as error:
        print(f'check_install: {error}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
