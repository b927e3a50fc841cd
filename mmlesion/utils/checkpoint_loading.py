"""Reading checkpoints without running code from them, and loading their weights strictly.

A checkpoint is a pickle, and a pickle can call any function while it is read: a shared
``.pth`` whose pickle reduces to ``os.system`` runs its command before any shape check. Every
checkpoint is therefore read with ``torch.load(weights_only=True)``, whose unpickler builds
tensors, builtin containers and scalars and nothing else, plus the few types an mmengine
checkpoint needs beside them (:data:`MMENGINE_CHECKPOINT_GLOBALS`: the runner's message hub and
the numpy values it logs). A file that asks for anything else is refused with
:class:`UnsafeCheckpointError`, which names the file and the type.

:func:`read_checkpoint` is registered as mmengine's loader of local paths
(``CheckpointLoader``), so it serves the Runner's ``load_from`` and ``--resume`` as well as the
tools and models of this package. A trusted checkpoint pickled with other types (an old release,
a colleague's run with custom objects) loads only after an explicit opt-in: the environment
variable :data:`UNSAFE_CHECKPOINTS_ENV` ``=1``, which the tools' ``--unsafe-load-checkpoint``
flag sets. The ``torchvision://`` scheme is wrapped to say what to do when torchvision or the
network is missing.
"""

from __future__ import annotations

import ast
import inspect
import os
import os.path as osp
import pickle
import re
import warnings
from collections.abc import Callable, Mapping

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.runner.checkpoint import CheckpointLoader, load_from_torchvision
from torch import nn

from .messages import count_and_first

#: Set to ``1`` to read checkpoints with plain pickle (``weights_only=False``): this runs any
#: code the file carries. Only for checkpoints you trust; the tools' ``--unsafe-load-checkpoint``.
UNSAFE_CHECKPOINTS_ENV = 'MMLESION_ALLOW_UNSAFE_CHECKPOINTS'
#: The help text of the tools' ``--unsafe-load-checkpoint`` flag.
UNSAFE_LOAD_HELP = (
    'read checkpoints with plain pickle (torch.load weights_only=False) instead of refusing '
    "types beyond weights and mmengine's runner state. A pickle RUNS ANY CODE IT CARRIES: use "
    f'only for a checkpoint you trust (same as {UNSAFE_CHECKPOINTS_ENV}=1)'
)


def _history_buffer_method(owner: type, name: str) -> Callable:
    """``getattr`` as a pickled ``HistoryBuffer`` uses it, and nothing more: its state names its
    statistics methods (``HistoryBuffer.min``...), which pickle writes as
    ``getattr(HistoryBuffer, 'min')``. Any other ``getattr`` in a checkpoint is refused."""
    method = owner.__dict__.get(name) if owner is HistoryBuffer else None
    if name.startswith('_') or not inspect.isfunction(method):
        raise pickle.UnpicklingError(
            f'Unsupported global: GLOBAL builtins.getattr({owner!r}, {name!r}) was not an allowed '
            'global by default'
        )
    return method


#: The non-tensor globals of an mmengine 0.10 checkpoint, beyond what ``weights_only=True``
#: allows by itself: the message hub's ``HistoryBuffer`` (with its statistics methods, through
#: a ``getattr`` limited to them) and the numpy arrays (float64 values, int64 counts), dtypes
#: and scalars it logs. None of them runs code while it is built.
MMENGINE_CHECKPOINT_GLOBALS: tuple[Callable | tuple[Callable, str], ...] = (
    HistoryBuffer,
    (_history_buffer_method, 'builtins.getattr'),
    np.core.multiarray._reconstruct,
    np.core.multiarray.scalar,
    np.ndarray,
    np.dtype,
    type(np.dtype(np.float64)),
    type(np.dtype(np.int64)),
)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, or holds no weights; the message names it."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint whose pickle asks for a type that could run code while it is read."""


def unsafe_checkpoints_allowed() -> bool:
    """Whether the user opted in to plain pickle loading (:data:`UNSAFE_CHECKPOINTS_ENV`)."""
    return os.environ.get(UNSAFE_CHECKPOINTS_ENV, '').strip().lower() in ('1', 'true', 'yes')


def allow_unsafe_checkpoints() -> None:
    """Opt in to plain pickle loading for this process and the ones it starts (the tools'
    ``--unsafe-load-checkpoint``)."""
    os.environ[UNSAFE_CHECKPOINTS_ENV] = '1'


#: How torch's weights-only unpickler names what it refused: a global not allowed, a global of
#: a blocked module (``os``, ``subprocess``...), a call or a build of something not allowed.
_REFUSED_GLOBAL = re.compile(
    r'GLOBAL (\S+?(?:\(.*?\))?) (?:was not an allowed|whose module)'
    r'|reduce for unrecognized function (\S+)'
    r'|(?:Can only build|Can only create new object).* but got (.+?)$',
    re.MULTILINE,
)
_WEIGHTS_UNPICKLER = re.compile(r'WeightsUnpickler error: (.+)')


def _what_the_file_holds(path: str) -> str:
    """A few words on what a file that is not a checkpoint looks like, from its first bytes."""
    with open(path, 'rb') as f:
        head = f.read(64)
    if head.startswith(b'PK\x03\x04'):
        return 'a zip archive that torch cannot read (truncated or not a torch.save file)'
    try:
        text = head.decode('utf-8')
    except UnicodeDecodeError:
        return f'binary data starting {head[:16]!r}'
    if text.isprintable() or all(c.isprintable() or c.isspace() for c in text):
        return f'a text file starting {text[:40]!r}'
    return f'data starting {head[:16]!r}'


def refused_global(message: str) -> str | None:
    """The global that torch's weights-only unpickler refused, from its error message."""
    refused = _REFUSED_GLOBAL.search(message)
    return next((g for g in refused.groups() if g), None) if refused else None


def _unreadable(path: str, error: Exception) -> CheckpointError:
    """The error to raise for a file ``torch.load`` could not read."""
    message = str(error)
    refused = refused_global(message)
    if refused:
        return UnsafeCheckpointError(
            f'{path}: refused to read this checkpoint: its pickle asks for {refused}, '
            'which is neither a tensor nor an allowed mmengine type, and could run code while it '
            'is read. If you trust the file (a legacy checkpoint of your own), load it with '
            f'--unsafe-load-checkpoint or {UNSAFE_CHECKPOINTS_ENV}=1'
        )
    detail = _WEIGHTS_UNPICKLER.search(message)
    reason = detail.group(1) if detail else (message.splitlines() or [''])[0]
    return CheckpointError(
        f'{path} is not a readable checkpoint: it is {_what_the_file_holds(path)} '
        f'({type(error).__name__}: {reason[:200]})'
    )


def read_checkpoint(filename: str | os.PathLike, map_location=None) -> dict:
    """Read a local checkpoint file into its dict, without running code from it.

    Args:
        filename: a ``torch.save`` file (``~`` is expanded).
        map_location: as for ``torch.load``.

    Raises:
        FileNotFoundError: no such file.
        UnsafeCheckpointError: the pickle asks for a type beyond weights and
            :data:`MMENGINE_CHECKPOINT_GLOBALS` (the message names it), and the user did not
            opt in (:data:`UNSAFE_CHECKPOINTS_ENV`).
        CheckpointError: an empty file, not a ``torch.save`` file, or not a dict (e.g. a bare
            tensor); the message says what the file holds.
    """
    path = osp.expanduser(os.fspath(filename))
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    if osp.getsize(path) == 0:
        raise CheckpointError(f'{path} is empty (0 bytes), not a checkpoint: an interrupted save?')
    try:
        if unsafe_checkpoints_allowed():
            warnings.warn(
                f'{UNSAFE_CHECKPOINTS_ENV}: reading {path} with plain pickle, which runs any code '
                'it carries',
                UserWarning,
                stacklevel=2,
            )
            checkpoint = torch.load(path, map_location=map_location, weights_only=False)
        else:
            with torch.serialization.safe_globals(list(MMENGINE_CHECKPOINT_GLOBALS)):
                checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # a file of any content: name it, and what it held
        raise _unreadable(path, error) from error
    if not isinstance(checkpoint, Mapping):
        held = type(checkpoint).__name__
        if isinstance(checkpoint, torch.Tensor):
            held = f'a bare tensor of shape {tuple(checkpoint.shape)}'
        raise CheckpointError(
            f"{path} holds {held}, not a checkpoint (a dict of weights, or with a 'state_dict')"
        )
    return dict(checkpoint)


def state_dict_of(checkpoint: Mapping, source: str) -> dict[str, torch.Tensor]:
    """The weights of a checkpoint read by :func:`read_checkpoint`: its ``'state_dict'``, or the
    dict itself when it is a bare state dict; a ``module.`` prefix (DistributedDataParallel) is
    removed from every key.

    Args:
        checkpoint: the checkpoint's dict.
        source: the file it came from, for messages.

    Raises:
        CheckpointError: no weights in it (its ``state_dict`` is not a dict of tensors).
    """
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, Mapping):
        raise CheckpointError(
            f"{source}: 'state_dict' holds a {type(state).__name__}, not a dict of weights"
        )
    if not any(isinstance(value, torch.Tensor) for value in state.values()):
        what = "an empty 'state_dict'" if not state else f'keys {count_and_first(list(state))}'
        raise CheckpointError(f'{source} holds no weights (no tensors): it has {what}')
    if not all(isinstance(key, str) for key in state):
        raise CheckpointError(f'{source}: its state dict has keys that are not strings')
    return {k[len('module.') :] if k.startswith('module.') else k: v for k, v in state.items()}


def load_state_strictly(
    module: nn.Module,
    state: Mapping[str, torch.Tensor],
    source: str,
    target: str,
    benign_missing: tuple[str, ...] = (),
    hint: str = '',
) -> None:
    """Load ``state`` into ``module``, refusing weights that do not fit it.

    Args:
        module: what receives the weights.
        state: the weights (``state_dict_of``).
        source: the file they came from; ``target``: what it should fit. The message reads
            ``'<source> does not fit <target>: ...'``.
        benign_missing: key suffixes ``state`` may lack.
        hint: appended to the message when the weights do not fit.

    Raises:
        CheckpointError: missing keys (beyond ``benign_missing``), unexpected keys or other
            shapes, each counted and the first ones named.
    """
    own = module.state_dict()
    missing = sorted(k for k in own.keys() - state.keys() if not k.endswith(benign_missing))
    unexpected = sorted(state.keys() - own.keys())
    mismatched = sorted(
        k
        for k in own.keys() & state.keys()
        if getattr(own[k], 'shape', None) != getattr(state[k], 'shape', None)
    )
    problems = [
        f'{name} {count_and_first(keys)}'
        for name, keys in (
            ('missing', missing),
            ('unexpected', unexpected),
            ('shape mismatch', mismatched),
        )
        if keys
    ]
    if problems:
        raise CheckpointError(f'{source} does not fit {target}: ' + '; '.join(problems) + hint)
    module.load_state_dict(state, strict=False)  # checked above, benign_missing aside


def load_local_checkpoint(filename: str, map_location=None) -> dict:
    """mmengine's loader of local paths (``load_from``, ``--resume``): :func:`read_checkpoint`.

    A ``meta['config']`` string is dropped (with a warning) unless unsafe loading is allowed:
    mmengine's ``Runner.resume`` runs it as Python (``Config.fromstring``) only to compare GPU
    counts. mmengine itself writes the config to ``meta['cfg']``, which it never runs.
    """
    checkpoint = read_checkpoint(filename, map_location=map_location)
    meta = checkpoint.get('meta')
    if isinstance(meta, dict) and 'config' in meta and not unsafe_checkpoints_allowed():
        warnings.warn(
            f"{filename}: ignoring its meta['config'], which mmengine's resume would run as "
            f'Python ({UNSAFE_CHECKPOINTS_ENV}=1 keeps it)',
            UserWarning,
            stacklevel=2,
        )
        checkpoint['meta'] = {k: v for k, v in meta.items() if k != 'config'}
    return checkpoint


CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)


# -- torchvision:// ImageNet weights ----------------------------------------------------------
#: The torchvision of the pinned torch 2.13 (setup.py's ``imagenet`` extra).
TORCHVISION_REQUIREMENT = 'torchvision==0.28.0'
_NO_IMAGENET_HINT = (
    'or train from scratch without ImageNet weights: --cfg-options model.backbone.init_cfg=None '
    '(model.detector.backbone.init_cfg=None in an enhancer config)'
)


def load_torchvision_weights(filename: str, map_location=None):
    """mmengine's ``torchvision://`` loader, failing with what to do instead of a bare
    ``ModuleNotFoundError`` or network error."""
    try:
        import torchvision  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f'{filename}: ImageNet weights need torchvision, the build of your torch '
            f"({TORCHVISION_REQUIREMENT}: pip install -e '.[imagenet]' with a CUDA torch; "
            f'{TORCHVISION_REQUIREMENT}+cpu from https://download.pytorch.org/whl/cpu with the '
            f'CPU torch), {_NO_IMAGENET_HINT}'
        ) from error
    try:
        return load_from_torchvision(filename, map_location=map_location)
    except OSError as error:  # urllib's URLError and socket errors are OSErrors
        raise RuntimeError(
            f'{filename}: could not download the ImageNet weights ({error}); they need network '
            f'access once (then torch caches them), {_NO_IMAGENET_HINT}'
        ) from error


CheckpointLoader.register_scheme(
    prefixes='torchvision://', loader=load_torchvision_weights, force=True
)


# -- strict loading for evaluation -------------------------------------------------------------
#: Keys a checkpoint may lack without changing a prediction: the reinforce objective's running
#: reward baseline (training only), BatchNorm counters older checkpoints do not store, and the
#: blend gate's ``gate_open`` of a gated enhancer saved before it existed (open, as trained).
BENIGN_MISSING_SUFFIXES = ('reward_baseline', 'num_batches_tracked', 'gate_open')


def load_checkpoint_strictly(model: nn.Module, checkpoint: str) -> None:
    """Load ``checkpoint`` into ``model`` (unwrapped from DDP and from a test-time augmentation
    wrapper, whose ``module`` is the checkpoint's model), refusing weights that do not fit.

    mmengine's Runner loads ``load_from`` non-strictly: a checkpoint of another model leaves
    every weight random, logs a warning and evaluates noise. Here any missing key (beyond
    :data:`BENIGN_MISSING_SUFFIXES`), unexpected key or shape mismatch is an error.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: the file is not a readable checkpoint, or its weights do not fit; the
            keys are counted and the first ones named.
    """
    # DDP, then a test-time augmentation around the detector (mmengine loads the same way).
    if is_model_wrapper(model):
        model = model.module
    if isinstance(model, BaseTTAModel):
        model = model.module
    state = state_dict_of(read_checkpoint(checkpoint, map_location='cpu'), checkpoint)
    hint = ''
    own = model.state_dict()
    enhancer_keys = ('detector.', 'data_preprocessor.regressor.')
    if any(k.startswith(enhancer_keys) and k not in own for k in state):
        hint = '; it is an enhancer checkpoint: evaluate it with the enhancer config'
    load_state_strictly(
        model,
        state,
        checkpoint,
        f'the model of this config ({type(model).__name__})',
        benign_missing=BENIGN_MISSING_SUFFIXES,
        hint=hint,
    )


# -- a config entry stored in a checkpoint as text -----------------------------------------------
def _literal(node: ast.AST, where: str):
    """The value of a config expression built only of literals and ``dict(key=...)`` calls."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool)):
        return node.value
    if isinstance(node, ast.Constant) and node.value is None:
        return None
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, (ast.USub, ast.UAdd))
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) in (int, float)
    ):
        value = node.operand.value
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, (ast.List, ast.Tuple)):
        values = [_literal(element, where) for element in node.elts]
        return values if isinstance(node, ast.List) else tuple(values)
    if isinstance(node, ast.Dict) and all(key is not None for key in node.keys):
        pairs = zip(node.keys, node.values, strict=True)
        return {_literal(key, where): _literal(value, where) for key, value in pairs}
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == 'dict'
        and not node.args
        and all(keyword.arg is not None for keyword in node.keywords)
    ):
        return {keyword.arg: _literal(keyword.value, where) for keyword in node.keywords}
    raise CheckpointError(
        f'{where}: {ast.unparse(node)[:80]!r} is not a plain value (str, number, bool, None, '
        'list, tuple, dict): refused, since evaluating it could run code'
    )


def literal_config_entry(cfg_text: str, name: str, source: str) -> dict:
    """The top-level ``name = dict(...)`` of a config stored as Python text (mmengine writes the
    training config into a checkpoint's ``meta['cfg']``), read without running any of it.

    Only literals and ``dict(key=value)`` calls are read; a name, an attribute, any other call
    or an operator is refused.

    Raises:
        CheckpointError: ``cfg_text`` is not Python, has no such entry, or it is not a plain
            dict of literals.
    """
    where = f"{source}: meta.cfg's {name}"
    try:
        tree = ast.parse(cfg_text)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise CheckpointError(f'{source}: meta.cfg is not a Python config ({error})') from None
    found = None
    for statement in tree.body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and statement.targets[0].id == name
        ):
            found = statement.value
    if found is None:
        raise CheckpointError(f'{source}: meta.cfg has no {name} = ...')
    try:
        value = _literal(found, where)
    except RecursionError:
        raise CheckpointError(f'{where} is nested too deeply to read') from None
    if not isinstance(value, dict):
        raise CheckpointError(f'{where} is a {type(value).__name__}, not a dict')
    return value
