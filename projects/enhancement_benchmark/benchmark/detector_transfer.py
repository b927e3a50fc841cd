"""Detector transfer: an enhancer trained against one frozen detector, put in front of another.

The paper leaves it as future work whether the learned enhancement is specific to the detector
it was trained against. This study trains a second detector of another family (RetinaNet) on the
same data, then evaluates it alone, behind fixed GLCAE and behind the enhancer trained against
the Faster R-CNN, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mmlesion.utils import atomic_write_json, atomic_write_text

from . import train_and_test
from .demo_report import comparison_table

#: The study's own configs, relative to the repository root.
PROJECT_CONFIGS = 'projects/enhancement_benchmark/configs'


@dataclass(frozen=True)
class TransferSettings:
    """What the transfer study runs; paths relative to the repository root."""

    work_dir: str = 'work_dirs/transfer'
    data_root: str = 'data/synthetic_deeplesion'
    enhancer_checkpoint: str = ''
    detector_config: str = f'{PROJECT_CONFIGS}/transfer/retinanet_r18-w32_fpn_36e_synth.py'
    identity_config: str = f'{PROJECT_CONFIGS}/transfer/identity_on_retinanet_synth.py'
    glcae_fixed_config: str = f'{PROJECT_CONFIGS}/transfer/glcae_fixed_on_retinanet_synth.py'
    learned_config: str = f'{PROJECT_CONFIGS}/transfer/enhancer_r18-w16_6e_synth_on_retinanet.py'
    seed: int = 0


#: (name, table label, settings field) of the compared pipelines.
TRANSFER_METHODS = (
    ('identity', 'RetinaNet alone', 'identity_config'),
    ('glcae_fixed', 'RetinaNet + fixed GLCAE (2.0, 8)', 'glcae_fixed_config'),
    ('learned', 'RetinaNet + enhancer learned for Faster R-CNN', 'learned_config'),
)


def run_detector_transfer(settings: TransferSettings, detector_checkpoint: str | None = None):
    """Train the second detector (unless ``detector_checkpoint`` is given) and compare it alone,
    behind fixed GLCAE and behind the transferred enhancer on the test split.

    Writes ``results.md`` and ``results.json`` into ``settings.work_dir``.

    Returns:
        ``{method: DeepLesion test metrics}``.
    """
    if not Path(settings.enhancer_checkpoint).is_file():
        raise FileNotFoundError(
            f'enhancer checkpoint not found: {settings.enhancer_checkpoint!r} (train the demo '
            'enhancer first: make demo)'
        )
    work_dir = Path(settings.work_dir)
    options = train_and_test.data_options(settings.data_root, settings.seed)
    if detector_checkpoint is None:
        trained = train_and_test.train(
            settings.detector_config, str(work_dir / 'detector'), options, desc='RetinaNet'
        )
        detector_checkpoint = trained.best_checkpoint
    results = {}
    for name, _, field in TRANSFER_METHODS:
        method_options = dict(options)
        if name == 'learned':
            method_options['model.enhancer_checkpoint'] = settings.enhancer_checkpoint
        metrics = train_and_test.test(
            getattr(settings, field),
            detector_checkpoint,
            str(work_dir / name),
            method_options,
            desc=name,
        )
        results[name] = {k: float(v) for k, v in metrics.items()}
    labels = {name: label for name, label, _ in TRANSFER_METHODS}
    table = comparison_table(results, labels)
    atomic_write_json(
        work_dir / 'results.json',
        {
            'detector_checkpoint': detector_checkpoint,
            'enhancer_checkpoint': settings.enhancer_checkpoint,
            'test': results,
        },
        indent=2,
    )
    atomic_write_text(
        work_dir / 'results.md',
        '# Detector transfer (synthetic DeepLesion, test split)\n\n'
        f'Enhancer: {settings.enhancer_checkpoint} (trained against the demo Faster R-CNN).\n\n'
        + table
        + '\n',
    )
    print('\n' + table + '\n')
    return results
