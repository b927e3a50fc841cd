"""A frozen, trained detector behind a learned enhancement: only the enhancer trains."""

from __future__ import annotations

import copy
import os.path as osp
import warnings
from collections.abc import Mapping

import torch
from mmdet.models.detectors import BaseDetector
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict

from mmlesion.utils.checkpoint_loading import load_state_strictly, read_checkpoint, state_dict_of

from ..regressors import load_regressor_weights
from .batch_coco_map import batch_coco_map

OBJECTIVES = ('surrogate', 'reinforce')
#: How the warning about a detector without weights begins (``detector_checkpoint=None``).
DETECTOR_CHECKPOINT_NONE_WARNING = 'FrozenDetectorEnhancer: detector_checkpoint=None'
#: The detector's data-preprocessor fields the enhancer's preprocessor takes over.
NORMALISATION_AND_PADDING = (
    'mean',
    'std',
    'bgr_to_rgb',
    'rgb_to_bgr',
    'pad_size_divisor',
    'pad_value',
    'pad_mask',
    'mask_pad_value',
    'pad_seg',
    'seg_pad_value',
    'boxtype2tensor',
    'non_blocking',
)


@MODELS.register_module()
class FrozenDetectorEnhancer(BaseDetector):
    """Train the enhancement in front of a trained detector whose weights never change.

    The model's ``data_preprocessor`` (an :class:`AdaptiveCLAHEPreprocessor`, a
    :class:`WindowDenoisePreprocessor` or another :class:`PerImageEnhancementPreprocessor`) holds
    the regressor and enhances every batch; the wrapped ``detector`` sees the enhanced images.
    Every detector parameter has ``requires_grad=False`` and the detector stays in eval mode
    even when the wrapper is put in train mode, so BatchNorm statistics never move.

    Objectives (the paper's "mAP difference" loss, with a real gradient; 0 = no improvement,
    negative = improvement):

    ``'surrogate'`` (default): the frozen detector's own training loss (RPN + R-CNN, its
        sampling, parameters frozen) on the enhanced batch minus the same loss on the original
        batch (no gradient). Both run from the same random state, so the samplers draw alike.
        The gradient reaches the regressor through the differentiable GLCAE (clip limit and
        soft grid size).
    ``'reinforce'``: the regressor's Gaussian policy draws (clip, grid) per image; reward =
        batch mAP(enhanced) − mAP(original) of the frozen detector's predictions; the loss's
        value is −reward and its gradient the score-function estimate with a running-mean
        baseline.

    Both log ``map_delta`` = mAP(original) − mAP(enhanced) of the batch (the paper's training
    curve) every ``map_delta_interval`` training iterations (every iteration for reinforce).

    A bare detector checkpoint (keys without the ``detector.`` prefix, as written by training
    the detector alone) also loads into this wrapper, so ``tools/test.py`` evaluates the
    identity / fixed baselines directly from the detector's checkpoint.

    Args:
        detector: mmdet detector config (the one the checkpoint was trained with).
        detector_checkpoint: path of the trained detector's checkpoint. ``None`` keeps random
            weights, with a loud warning: right only when a whole enhancer checkpoint is loaded
            next (``tools/test.py``, ``--resume``). Training refuses to start on a detector that
            was never loaded, unless ``allow_random_detector``.
        allow_random_detector: let training run in front of a random detector (tests only).
        enhancer_checkpoint: optional checkpoint of a trained enhancer whose regressor
            (``data_preprocessor.regressor.*``) is loaded into this one: an enhancer trained in
            front of one detector placed in front of another (detector transfer), or at
            inference. ``None``: the regressor starts at its ``init_params``.
        data_preprocessor: an ``AdaptiveCLAHEPreprocessor`` or ``WindowDenoisePreprocessor``
            config; fields it leaves out (mean, std, padding, ...) are taken from
            ``detector['data_preprocessor']``.
        objective: ``'surrogate'`` or ``'reinforce'``.
        map_delta_interval: log ``map_delta`` every this many training iterations (0 = never;
            it costs two prediction passes).
        baseline_momentum: running-mean momentum of the reinforce baseline.
    """

    def __init__(
        self,
        detector: dict,
        data_preprocessor: dict,
        detector_checkpoint: str | None = None,
        enhancer_checkpoint: str | None = None,
        objective: str = 'surrogate',
        map_delta_interval: int = 10,
        baseline_momentum: float = 0.9,
        init_cfg: dict | None = None,
        allow_random_detector: bool = False,
    ) -> None:
        if objective not in OBJECTIVES:
            raise ValueError(f'objective must be one of {OBJECTIVES}, got {objective!r}')
        # ConfigDict: mmdet's detectors read train_cfg/test_cfg by attribute.
        detector = ConfigDict(copy.deepcopy(detector))
        # This model's preprocessor replaces the detector's, and inherits its normalisation and
        # padding so that the frozen detector sees inputs exactly as in its training (not its
        # enhancement settings: a detector may have trained with random enhancement).
        detector_preprocessor = detector.pop('data_preprocessor', None) or {}
        inherited = {
            k: v for k, v in detector_preprocessor.items() if k in NORMALISATION_AND_PADDING
        }
        data_preprocessor = {**inherited, **data_preprocessor}
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.detector = MODELS.build(detector)
        self.detector_checkpoint = detector_checkpoint
        self.allow_random_detector = allow_random_detector
        # Set once trained weights reach the detector: its checkpoint, or a whole state dict.
        self._detector_loaded = False
        self._load_detector(detector_checkpoint)
        for param in self.detector.parameters():
            param.requires_grad_(False)
        self.detector.eval()
        self.enhancer_checkpoint = enhancer_checkpoint
        self._load_regressor(enhancer_checkpoint)
        self.objective = objective
        self.map_delta_interval = map_delta_interval
        self.baseline_momentum = baseline_momentum
        self.register_buffer('reward_baseline', torch.zeros(()))
        self._train_iter = 0
        self.data_preprocessor.keep_original = True
        self.data_preprocessor.sample_params = objective == 'reinforce'
        # The policy's spread takes a gradient only when parameters are sampled (reinforce). A
        # trainable parameter without one stops DistributedDataParallel at its 2nd iteration.
        log_std = getattr(getattr(self.data_preprocessor, 'regressor', None), 'log_std', None)
        if isinstance(log_std, torch.nn.Parameter):
            log_std.requires_grad_(objective == 'reinforce')
        self._register_load_state_dict_pre_hook(self._accept_bare_detector_state)

    # -- construction -------------------------------------------------------------------------
    def _load_detector(self, checkpoint: str | None) -> None:
        if checkpoint is None:
            warnings.warn(
                f'{DETECTOR_CHECKPOINT_NONE_WARNING}, so the frozen detector starts '
                'with RANDOM weights. That is only right when a whole enhancer checkpoint is '
                'loaded next (tools/test.py, --resume) or in tests; to train an enhancer set '
                'model.detector_checkpoint to the trained detector, e.g. --cfg-options '
                'model.detector_checkpoint=work_dirs/.../best_deeplesion_mAP_epoch_N.pth',
                UserWarning,
                stacklevel=3,
            )
            return
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'detector_checkpoint does not exist: {checkpoint}')
        self.load_detector_weights(read_checkpoint(checkpoint, map_location='cpu'), checkpoint)

    def load_detector_weights(self, checkpoint: Mapping, source: str) -> None:
        """Load the detector's weights from a checkpoint already read: a detector's, or a whole
        enhancer's (its ``detector.*`` keys).

        Args:
            checkpoint: the checkpoint's dict
                (:func:`~mmlesion.utils.checkpoint_loading.read_checkpoint`).
            source: the file it came from, for messages.

        Raises:
            ValueError: the weights do not fit the detector config (the keys are named).
        """
        state = state_dict_of(checkpoint, source)
        if any(k.startswith('detector.') for k in state):
            state = {
                k[len('detector.') :]: v for k, v in state.items() if k.startswith('detector.')
            }
        state = {k: v for k, v in state.items() if not k.startswith('data_preprocessor.')}
        load_state_strictly(
            self.detector, state, f'detector_checkpoint {source}', 'the detector config'
        )
        self._detector_loaded = True

    def _load_regressor(self, checkpoint: str | None) -> None:
        if checkpoint is not None:
            self.load_regressor_weights(checkpoint)

    def load_regressor_weights(self, checkpoint: str | Mapping, source: str | None = None) -> None:
        """Load the regressor's weights from an enhancer checkpoint (its path, or its dict
        already read, from ``source``).

        Raises:
            ValueError: this model has no regressor, or the weights do not fit it.
        """
        regressor = getattr(self.data_preprocessor, 'regressor', None)
        if regressor is None:
            raise ValueError(
                f'enhancer_checkpoint {source or checkpoint} given, but the data_preprocessor has '
                "no regressor (mode 'learned' needs one)"
            )
        load_regressor_weights(regressor, checkpoint, source)

    def _accept_bare_detector_state(self, state_dict: dict, prefix: str, *args) -> None:
        """Rename a bare detector state dict (``backbone.…``) to this wrapper's keys."""
        if not any(k.startswith(prefix + 'detector.') for k in state_dict):
            detector_keys = {prefix + k for k in self.detector.state_dict()}
            for key in [k for k in state_dict if k in detector_keys]:
                state_dict[prefix + 'detector.' + key[len(prefix) :]] = state_dict.pop(key)
        if any(k.startswith(prefix + 'detector.') for k in state_dict):
            self._detector_loaded = True

    def init_weights(self) -> None:
        """Initialise the enhancer only: the detector holds its trained weights."""
        regressor = getattr(self.data_preprocessor, 'regressor', None)
        if regressor is not None:
            regressor.init_weights()
            # init_weights re-draws the trunk: a loaded enhancer must survive it.
            self._load_regressor(self.enhancer_checkpoint)

    def train(self, mode: bool = True) -> FrozenDetectorEnhancer:
        """Train mode for the enhancer; the detector stays in eval mode.

        Raises:
            RuntimeError: training mode on a detector that holds no trained weights (no
                ``detector_checkpoint``, no whole checkpoint loaded) and no
                ``allow_random_detector``: the enhancer would learn to please a random network.
        """
        if mode and not (self._detector_loaded or self.allow_random_detector):
            raise RuntimeError(
                'FrozenDetectorEnhancer: refusing to train in front of a detector with RANDOM '
                'weights: model.detector_checkpoint is None and no checkpoint was loaded. Set '
                'it to the trained detector, e.g. --cfg-options model.detector_checkpoint='
                'work_dirs/<detector>/best_deeplesion_mAP_epoch_N.pth'
            )
        super().train(mode)
        self.detector.eval()
        return self

    # -- mmdet BaseDetector interface ---------------------------------------------------------
    def forward(
        self,
        inputs: torch.Tensor,
        data_samples: list[DetDataSample] | None = None,
        mode: str = 'tensor',
        original_inputs: torch.Tensor | None = None,
        param_log_prob: torch.Tensor | None = None,
    ):
        if mode == 'loss':
            return self.loss(inputs, data_samples, original_inputs, param_log_prob)
        return super().forward(inputs, data_samples, mode)

    def extract_feat(self, batch_inputs: torch.Tensor):
        return self.detector.extract_feat(batch_inputs)

    def _forward(self, batch_inputs: torch.Tensor, batch_data_samples=None):
        return self.detector._forward(batch_inputs, batch_data_samples)

    def predict(
        self,
        batch_inputs: torch.Tensor,
        batch_data_samples: list[DetDataSample],
        rescale: bool = True,
    ) -> list[DetDataSample]:
        return self.detector.predict(batch_inputs, batch_data_samples, rescale=rescale)

    def loss(
        self,
        batch_inputs: torch.Tensor,
        batch_data_samples: list[DetDataSample],
        original_inputs: torch.Tensor | None = None,
        param_log_prob: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        if original_inputs is None:
            raise ValueError(
                'FrozenDetectorEnhancer.loss needs original_inputs: use an '
                'AdaptiveCLAHEPreprocessor or WindowDenoisePreprocessor as the model '
                'data_preprocessor'
            )
        self._train_iter += 1
        if self.objective == 'surrogate':
            losses = self._surrogate_loss(batch_inputs, original_inputs, batch_data_samples)
            log_map_delta = (
                self.map_delta_interval > 0 and self._train_iter % self.map_delta_interval == 0
            )
            if log_map_delta:
                map_original, map_enhanced = self._batch_maps(
                    batch_inputs, original_inputs, batch_data_samples
                )
                losses['map_delta'] = batch_inputs.new_tensor(map_original - map_enhanced)
        else:
            losses = self._reinforce_loss(
                batch_inputs, original_inputs, batch_data_samples, param_log_prob
            )
        losses.update(_parameter_stats(batch_data_samples, batch_inputs))
        return losses

    # -- objectives ---------------------------------------------------------------------------
    def _detector_loss(
        self, inputs: torch.Tensor, data_samples: list[DetDataSample]
    ) -> torch.Tensor:
        losses = self.detector.loss(inputs, data_samples)
        total, _ = self.detector.parse_losses(losses)
        return total

    def _surrogate_loss(
        self,
        enhanced: torch.Tensor,
        original: torch.Tensor,
        data_samples: list[DetDataSample],
    ) -> dict[str, torch.Tensor]:
        devices = [enhanced.device] if enhanced.is_cuda else []
        with torch.random.fork_rng(devices=devices):
            with torch.no_grad():
                loss_original = self._detector_loss(original, data_samples)
        # Continue from the same random state: both passes draw the same RPN/R-CNN samples
        # wherever their proposals agree.
        loss_enhanced = self._detector_loss(enhanced, data_samples)
        return {
            'loss_enhance': loss_enhanced - loss_original,
            'surrogate_enhanced': loss_enhanced.detach(),
            'surrogate_original': loss_original,
        }

    def _reinforce_loss(
        self,
        enhanced: torch.Tensor,
        original: torch.Tensor,
        data_samples: list[DetDataSample],
        log_prob: torch.Tensor | None,
    ) -> dict[str, torch.Tensor]:
        if log_prob is None:
            raise ValueError(
                "objective='reinforce' needs the preprocessor to sample parameters "
                "(AdaptiveCLAHEPreprocessor or WindowDenoisePreprocessor in mode='learned')"
            )
        map_original, map_enhanced = self._batch_maps(enhanced, original, data_samples)
        reward = log_prob.new_tensor(map_enhanced - map_original)
        advantage = reward - self.reward_baseline
        self.reward_baseline.mul_(self.baseline_momentum).add_(
            (1 - self.baseline_momentum) * reward
        )
        score = log_prob.mean()
        # Value −reward (0 = no gain, negative = gain); gradient −advantage·∇log π.
        loss = -reward - advantage * (score - score.detach())
        return {
            'loss_enhance': loss,
            'map_delta': -reward.detach(),
            'reward_baseline': self.reward_baseline.clone(),
        }

    @torch.no_grad()
    def _batch_maps(
        self,
        enhanced: torch.Tensor,
        original: torch.Tensor,
        data_samples: list[DetDataSample],
    ) -> tuple[float, float]:
        """COCO mAP of the frozen detector on the batch, original and enhanced, in [0, 1].

        Predictions stay in input coordinates (``rescale=False``), where the training
        pipeline's ground truth lives."""
        maps = []
        for inputs in (original, enhanced):
            samples = [s.clone() for s in data_samples]
            predicted = self.detector.predict(inputs.detach(), samples, rescale=False)
            maps.append(batch_coco_map(predicted))
        return maps[0], maps[1]


def _parameter_stats(
    data_samples: list[DetDataSample], like: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Batch mean of the enhancement parameters used (logged, not optimised): clip limit, grid
    size and (with the gate) blend weight, or window level offset, width scale and denoising
    strength, so that the training log shows where the regressor is heading."""
    stats = {}
    for key, name in (
        ('clahe_clip_limit', 'clip_limit'),
        ('clahe_grid_size', 'grid_size'),
        ('clahe_alpha', 'alpha'),
        ('window_level_offset_hu', 'level_offset_hu'),
        ('window_width_scale', 'width_scale'),
        ('denoise_strength', 'denoise'),
    ):
        values = [s.metainfo.get(key) for s in data_samples]
        values = [v for v in values if v is not None]
        if values:
            stats[f'{name}_mean'] = like.new_tensor(sum(values) / len(values))
    return stats
