"""The paper's Fig. 4: test slices before and after the learned enhancement, with boxes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmlesion.utils.atomic_write import atomic_write_figure


@dataclass(frozen=True)
class SlicePanel:
    """One test slice for the figure.

    Attributes:
        title: e.g. the ``File_name``.
        original: ``(H, W)`` key slice before enhancement, in [0, 1].
        enhanced: ``(H, W)`` the same after enhancement, in [0, 1].
        gt_boxes: ``(N, 4)`` x1, y1, x2, y2 pixels.
        boxes_original: ``(M, 4)`` the detector's boxes on the original slice.
        boxes_enhanced: ``(K, 4)`` its boxes on the enhanced slice.
        clip_limit, grid_size: the enhancement parameters the regressor chose.
    """

    title: str
    original: np.ndarray
    enhanced: np.ndarray
    gt_boxes: np.ndarray
    boxes_original: np.ndarray
    boxes_enhanced: np.ndarray
    clip_limit: float
    grid_size: float


def _draw_boxes(ax, boxes: np.ndarray, color: str, style: str = '-') -> None:
    from matplotlib.patches import Rectangle

    for x1, y1, x2, y2 in np.asarray(boxes).reshape(-1, 4):
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=color, lw=1.2, ls=style))


def plot_enhancement_grid(panels: Sequence[SlicePanel], out_file: str | Path) -> None:
    """Two columns per slice (original | enhanced): ground truth in green, detections in red
    (dashed), the chosen (clip limit, grid size) in the enhanced panel's title."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    rows = max(1, len(panels))
    fig, axes = plt.subplots(rows, 2, figsize=(6.4, 3.2 * rows), squeeze=False)
    for row, panel in zip(axes, panels, strict=False):
        for ax, image, boxes, label in (
            (row[0], panel.original, panel.boxes_original, f'{panel.title}\noriginal'),
            (
                row[1],
                panel.enhanced,
                panel.boxes_enhanced,
                f'enhanced: clip {panel.clip_limit:.2f}, grid {panel.grid_size:.1f}',
            ),
        ):
            ax.imshow(image, cmap='gray', vmin=0, vmax=1)
            _draw_boxes(ax, panel.gt_boxes, 'lime')
            _draw_boxes(ax, boxes, 'red', '--')
            ax.set_title(label, fontsize=8)
            ax.axis('off')
    fig.tight_layout()
    atomic_write_figure(out_file, fig, dpi=110)
    plt.close(fig)
