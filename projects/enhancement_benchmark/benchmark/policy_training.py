"""Training a :class:`~mmlesion.models.regressors.SettingPolicy` from per-slice loss tables.

A plain loop, not an mmengine Runner: the detector is out of the loop, the whole training set is
a tensor of slices and a ``(N, K)`` table of losses, and an epoch is a few policy passes. The
Runner's machinery (dataset classes, hooks, a model wrapper for a loss that is an array lookup)
would add more code than the loop. The result is written as an ordinary enhancer checkpoint
(the frozen detector's weights and the policy's under ``data_preprocessor.regressor.*``), which
``tools/test.py`` evaluates with the policy config like any enhancer.

Model selection: the epoch whose policy, applied by its argmax as at inference, has the lowest
mean validation loss of the settings it chose (ties: the earlier epoch); training stops once
``patience`` epochs in a row have not lowered it (``None``: all ``epochs`` run). The best single
setting of the training table, scored on validation the same way, is logged beside it: a policy that
does not beat it has found nothing per-image to use.
"""

from __future__ import annotations

import copy
import io
import time
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from mmlesion.models.losses import expected_setting_loss
from mmlesion.utils import atomic_write_bytes, atomic_write_json, load_config

from .setting_loss_table import LossTable, build_policy_model, compute_loss_table, split_dataloader

#: ``policy_training`` fields of a policy config, and their defaults.
TRAINING_DEFAULTS = dict(
    loss='detector_loss',
    epochs=100,
    batch_size=32,
    lr=1e-3,
    weight_decay=1e-2,
    flip=True,
    seed=0,
    patience=None,
)


def _choices(policy: nn.Module, images: torch.Tensor, batch_size: int) -> torch.Tensor:
    """``(N,)`` argmax setting and ``(N, K)`` probabilities of ``images`` in eval mode."""
    policy.eval()
    with torch.no_grad():
        logits = torch.cat(
            [policy(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
        )
    return logits.argmax(dim=1), torch.softmax(logits, dim=1)


def evaluate_policy(
    policy: nn.Module, images: torch.Tensor, losses: torch.Tensor, batch_size: int = 32
) -> dict[str, float]:
    """On ``images`` ``(N, C, H, W)`` with losses ``(N, K)``: the mean loss of the argmax
    choice (``chosen_loss``), the policy's expected loss, the regret of the choice against each
    slice's best setting, and the share of slices off the most common choice."""
    chosen, probs = _choices(policy, images, batch_size)
    picked = losses.gather(1, chosen[:, None])[:, 0]
    counts = torch.bincount(chosen, minlength=losses.shape[1])
    return {
        'chosen_loss': float(picked.mean()),
        'expected_loss': float((probs * losses).sum(dim=1).mean()),
        'regret': float((picked - losses.min(dim=1).values).mean()),
        'share_off_most_common': float(1 - counts.max() / len(chosen)),
    }


def train_policy(
    policy: nn.Module,
    images: torch.Tensor,
    losses: torch.Tensor,
    val_images: torch.Tensor | None = None,
    val_losses: torch.Tensor | None = None,
    epochs: int = TRAINING_DEFAULTS['epochs'],
    batch_size: int = TRAINING_DEFAULTS['batch_size'],
    lr: float = TRAINING_DEFAULTS['lr'],
    weight_decay: float = TRAINING_DEFAULTS['weight_decay'],
    flip: bool = TRAINING_DEFAULTS['flip'],
    seed: int = TRAINING_DEFAULTS['seed'],
    patience: int | None = TRAINING_DEFAULTS['patience'],
) -> dict:
    """Minimise ``Σ_k π_k(x)·ℓ_k(x)`` over the training slices; keep the best epoch's weights.

    Args:
        policy: a ``SettingPolicy`` (trained in place; left in eval mode with the best weights).
        images: ``(N, C, H, W)`` float in [0, 1], the slices as the policy sees them.
        losses: ``(N, K)`` float, ``ℓ_k`` of each slice (:meth:`LossTable.losses`).
        val_images, val_losses: the validation slices and losses for model selection; ``None``
            selects on the training slices.
        flip: flip each slice left-right at random (a setting's loss does not depend on the
            side of the body a lesion lies on).
        seed: the order of the slices and the flips.
        patience: stop after this many epochs in a row without a lower selection loss
            (``None``: run all ``epochs``). The epochs that run are the first epochs of a run
            without it (same order, flips and weights): the kept weights are the full run's
            unless the full run improves again after ``patience`` epochs without improvement.

    Returns:
        ``{'best_epoch', 'history': [per epoch: train_loss and the selection split's
        :func:`evaluate_policy`], 'best_fixed': {'setting_index', 'chosen_loss'}}`` (the best
        single setting on the training table, scored on the selection split).
    """
    if images.shape[0] != losses.shape[0] or losses.ndim != 2 or losses.shape[1] != len(policy):
        raise ValueError(
            f'train_policy: images {tuple(images.shape)} and losses {tuple(losses.shape)} do '
            f'not fit a policy of {len(policy)} settings (losses must be (N, {len(policy)}))'
        )
    if patience is not None and patience < 1:
        raise ValueError(f'train_policy: patience must be >= 1 or None, got {patience}')
    select_images = images if val_images is None else val_images
    select_losses = losses if val_losses is None else val_losses
    fixed = int(losses.mean(dim=0).argmin())
    best_fixed = {
        'setting_index': fixed,
        'chosen_loss': float(select_losses[:, fixed].mean()),
    }
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(policy.parameters(), lr=lr, weight_decay=weight_decay)
    history: list[dict] = []
    best_epoch, best_loss, best_state = 0, float('inf'), copy.deepcopy(policy.state_dict())
    for epoch in tqdm(range(1, epochs + 1), desc='policy epochs', disable=None):
        policy.train()
        order = torch.randperm(len(images), generator=generator)
        total = 0.0
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            batch = images[index]
            if flip:
                flipped = torch.rand(len(index), generator=generator) < 0.5
                batch = torch.where(flipped[:, None, None, None], batch.flip(-1), batch)
            loss = expected_setting_loss(policy(batch), losses[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(index)
        scores = evaluate_policy(policy, select_images, select_losses, batch_size)
        history.append({'epoch': epoch, 'train_loss': total / len(images), **scores})
        if scores['chosen_loss'] < best_loss:
            best_epoch, best_loss = epoch, scores['chosen_loss']
            best_state = copy.deepcopy(policy.state_dict())
        elif patience is not None and epoch - best_epoch >= patience:
            break
    policy.load_state_dict(best_state)
    policy.eval()
    return {'best_epoch': best_epoch, 'history': history, 'best_fixed': best_fixed}


def load_policy_images(cfg, split: str, img_ids: list[str], intensity_max: float) -> torch.Tensor:
    """``(N, C, H, W)`` float32 in [0, 1]: the slices of ``split`` through the config's test
    pipeline, in the order of ``img_ids`` (a loss table's).

    Raises:
        ValueError: a slice of the table is not in the split, or the slices differ in size.
    """
    by_id: dict[str, torch.Tensor] = {}
    for batch in split_dataloader(cfg, split):
        for x, sample in zip(batch['inputs'], batch['data_samples'], strict=True):
            by_id[sample.metainfo['img_id']] = (x.float() / intensity_max).clamp(0, 1)
    missing = [i for i in img_ids if i not in by_id]
    if missing:
        raise ValueError(
            f'{len(missing)} slices of the {split} loss table are not in the {split} split '
            f'(first: {missing[:3]}): was the table computed on this data set?'
        )
    images = [by_id[i] for i in img_ids]
    if len({x.shape for x in images}) > 1:
        raise ValueError(
            f'the {split} slices differ in size: give the policy an input_size '
            '(model.data_preprocessor.regressor.input_size) and resize them'
        )
    return torch.stack(images)


def train_policy_from_config(
    config: str,
    detector_checkpoint: str,
    work_dir: str | Path,
    cfg_options: Mapping | None = None,
    seed: int | None = None,
    loss: str | None = None,
    tables_dir: str | Path | None = None,
) -> dict:
    """Compute (or reuse) the train and val loss tables in ``tables_dir``, train the policy of
    ``config`` from them and write ``work_dir/policy.pth`` (an enhancer checkpoint) and
    ``work_dir/policy_training.json``.

    Args:
        config: a policy config; its ``policy_training`` dict overrides
            :data:`TRAINING_DEFAULTS`.
        detector_checkpoint: the trained detector the tables are computed with.
        cfg_options: overrides of the config (data root, ...).
        seed: overrides ``policy_training.seed`` (the policy's initial weights, the order).
        loss: overrides ``policy_training.loss`` (``'detector_loss'`` or ``'slice_ap'``).
        tables_dir: where the loss tables are (``None``: ``work_dir``); policies trained on
            other losses of the same detector and settings share them.

    Returns:
        The training summary written to ``policy_training.json``.
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    tables_dir = work_dir if tables_dir is None else Path(tables_dir)
    tables_dir.mkdir(parents=True, exist_ok=True)
    options = {**dict(cfg_options or {}), 'model.detector_checkpoint': detector_checkpoint}
    tables = {}
    for split in ('train', 'val'):
        path = tables_dir / f'loss_table_{split}.npz'
        if not path.is_file():
            table = compute_loss_table(config, detector_checkpoint, split, cfg_options)
            # Written through a temporary name: a table on disk is always complete.
            partial = path.with_name(f'{path.stem}.partial.npz')
            table.save(partial)
            partial.replace(path)
        tables[split] = LossTable.load(path)
    start = time.perf_counter()
    cfg = load_config(config, options)
    training = {**TRAINING_DEFAULTS, **dict(cfg.get('policy_training') or {})}
    unknown = sorted(set(training) - set(TRAINING_DEFAULTS))
    if unknown:
        raise ValueError(
            f'{config}: unknown policy_training fields {unknown}; expected some of '
            f'{sorted(TRAINING_DEFAULTS)}'
        )
    if seed is not None:
        training['seed'] = seed
    if loss is not None:
        training['loss'] = loss
    # The seed fixes the policy's initial weights (built with the model) and the training order.
    torch.manual_seed(training['seed'])
    model, cfg = build_policy_model(config, options)
    preprocessor = model.data_preprocessor
    policy = preprocessor.regressor
    for split, table in tables.items():
        if table.settings != policy.settings:
            raise ValueError(
                f'{tables_dir}/loss_table_{split}.npz was computed for the settings '
                f"{table.settings}, not the config's {policy.settings}: delete it to recompute"
            )
    data = {
        split: (
            load_policy_images(cfg, split, table.img_ids, preprocessor.intensity_max),
            torch.from_numpy(table.losses(training['loss'])),
        )
        for split, table in tables.items()
    }
    result = train_policy(
        policy,
        *data['train'],
        *data['val'],
        **{k: v for k, v in training.items() if k != 'loss'},
    )
    state = {'meta': {'cfg': cfg.pretty_text}, 'state_dict': model.state_dict()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(work_dir / 'policy.pth', buffer.getvalue())
    summary = {
        'config': config,
        'detector_checkpoint': detector_checkpoint,
        'training': training,
        'settings': [None if s is None else list(s) for s in policy.settings],
        'num_slices': {split: len(table.img_ids) for split, table in tables.items()},
        'seconds': time.perf_counter() - start,
        **result,
        'val_best_per_slice_loss': float(data['val'][1].min(dim=1).values.mean()),
    }
    atomic_write_json(work_dir / 'policy_training.json', summary, indent=1)
    return summary
