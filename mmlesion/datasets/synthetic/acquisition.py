"""Acquisition profiles: how each series was scanned, and the degradations that follow.

Every series draws one profile and all of its slices share it, so 2.5-D neighbours match. A
profile combines any of three degradations, each a reason why the best contrast enhancement
differs from slice to slice:

``low_contrast``
    Lesion-to-host contrast of a few HU (6-18 HU in soft tissue and fat; faint ground glass in
    the lung, subtle lysis in bone), often on an unenhanced scan. In a wide window such as
    [-1024, 1050] HU the lesion is about one grey level from its organ; local equalisation
    (CLAHE) recovers it.
``noisy``
    Low-dose quantum noise, sigma 30-80 HU, slightly correlated (reconstruction kernel). Strong
    local equalisation (high clip limit, many tiles) amplifies it.
``shading``
    A smooth bias of 50-150 HU peak across the body (beam-hardening cupping, a tilt and a
    low-frequency field), so no single global mapping suits the whole slice.

A profile with none of them is ``clean`` (sigma 5-12 HU, the usual lesion contrast). Every
profile also carries the series' DICOM display window and contrast phase, and some scanners pad
the outside of the reconstruction circle with -1024, -2000 or -3024 HU.

The noise grain above stands for site A's (standard) reconstruction kernel. Another site's kernel
is a :class:`ReconKernel`: an image-domain filter relative to site A's, applied to the acquired
slice, noise included (see :mod:`.sites`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from .texture import smooth_noise
from .tissues import Phase

#: Degradations in the order they appear in profile names.
DEGRADATIONS: tuple[str, ...] = ('low_contrast', 'noisy', 'shading')
CLEAN = 'clean'

#: Probability of each degradation at difficulty 1 (scaled linearly by the difficulty).
DEGRADATION_RATE: dict[str, float] = {'low_contrast': 0.55, 'noisy': 0.45, 'shading': 0.45}

#: Realistic DICOM display windows (low, high) HU, with their frequencies, by body region.
DICOM_WINDOWS: dict[str, tuple[tuple[tuple[float, float], float], ...]] = {
    'chest': (
        ((-1500.0, 500.0), 0.30),
        ((-1350.0, 150.0), 0.20),
        ((-1400.0, 200.0), 0.10),
        ((-160.0, 240.0), 0.15),
        ((-175.0, 275.0), 0.15),
        ((-500.0, 1300.0), 0.10),
    ),
    'abdomen': (
        ((-175.0, 275.0), 0.35),
        ((-160.0, 240.0), 0.25),
        ((-135.0, 215.0), 0.10),
        ((-125.0, 225.0), 0.10),
        ((-150.0, 250.0), 0.08),
        ((-500.0, 1300.0), 0.06),
        ((-1500.0, 500.0), 0.06),
    ),
}

#: Valid HU range of a reconstructed CT image (12-bit).
HU_MIN, HU_MAX = -1024.0, 3071.0


@dataclass(frozen=True)
class ReconKernel:
    """A reconstruction kernel, as the image-domain filter that turns a slice reconstructed with
    site A's kernel into one reconstructed with this kernel.

    A sharper kernel passes more high spatial frequencies: edges get steeper (with a slight
    overshoot, as real sharp kernels give) and the quantum noise gets a finer grain and a higher
    amplitude. Here it is an unsharp mask ``out = x + amount * (x - G(sigma_px) * x)``, applied to
    the whole slice, so signal and noise go through the same filter, as through a real kernel.
    Like the noise grain, it acts at the stored resolution (pixels).

    Attributes:
        name: e.g. ``'sharp'``.
        amount: unsharp-mask gain (> 0).
        sigma_px: Gaussian sigma of the mask's blur, pixels (> 0).
    """

    name: str
    amount: float
    sigma_px: float

    def __post_init__(self) -> None:
        if self.amount <= 0 or self.sigma_px <= 0:
            raise ValueError(
                f'ReconKernel {self.name!r}: amount and sigma_px must be > 0, got '
                f'{self.amount} and {self.sigma_px}'
            )

    def apply(self, image: np.ndarray) -> np.ndarray:
        """``image (N, N) float32`` HU through the kernel, ``(N, N) float32``."""
        blurred = cv2.GaussianBlur(image, (0, 0), self.sigma_px, borderType=cv2.BORDER_REFLECT)
        return image + np.float32(self.amount) * (image - blurred)

    def noise_gain(self, correlation_px: float) -> float:
        """Factor by which the kernel scales the std of :func:`correlated_noise` of this grain.

        Exact for the generator's discrete filters: the root sum of squares of the impulse
        response of the noise's blur followed by :meth:`apply`.
        """
        kernel = noise_kernel(correlation_px)
        radius = len(kernel) // 2 + int(np.ceil(4 * self.sigma_px)) + 2
        impulse = np.zeros((2 * radius + 1, 2 * radius + 1), np.float32)
        impulse[radius, radius] = 1.0
        grain = cv2.sepFilter2D(impulse, -1, kernel, kernel, borderType=cv2.BORDER_CONSTANT)
        grain /= np.float32((kernel**2).sum())
        return float(np.sqrt((self.apply(grain).astype(np.float64) ** 2).sum()))


@dataclass(frozen=True)
class AcquisitionProfile:
    """How one series was acquired.

    Attributes:
        degradations: a subset of :data:`DEGRADATIONS`, in that order.
        noise_sigma_hu: quantum-noise standard deviation inside the body, HU, before
            ``kernel`` (see :attr:`effective_noise_sigma_hu`).
        noise_correlation_px: Gaussian blur sigma giving the noise its grain, pixels.
        shading_amplitude_hu: peak absolute shading bias inside the body, HU (0: no shading).
        window_hu: the DICOM display window ``(low, high)`` HU.
        phase: contrast phase of the scan.
        padding_hu: value outside the reconstruction circle, or ``None`` for no circle.
        kernel: the reconstruction kernel relative to site A's; ``None`` is site A's own.
    """

    degradations: tuple[str, ...]
    noise_sigma_hu: float
    noise_correlation_px: float
    shading_amplitude_hu: float
    window_hu: tuple[float, float]
    phase: Phase
    padding_hu: float | None
    kernel: ReconKernel | None = None

    @property
    def effective_noise_sigma_hu(self) -> float:
        """Noise std inside the body of the reconstructed slice, HU: ``noise_sigma_hu`` times
        the kernel's noise gain (``noise_sigma_hu`` itself under site A's kernel)."""
        if self.kernel is None:
            return self.noise_sigma_hu
        gain = self.kernel.noise_gain(self.noise_correlation_px)
        return round(self.noise_sigma_hu * gain, 1)

    @property
    def name(self) -> str:
        """``'clean'`` or the degradations joined by ``'+'``, e.g. ``'low_contrast+noisy'``."""
        return '+'.join(self.degradations) or CLEAN

    @property
    def low_contrast(self) -> bool:
        return 'low_contrast' in self.degradations


def sample_window(rng: np.random.Generator, region: str) -> tuple[float, float]:
    """A DICOM window for a ``'chest'`` or ``'abdomen'`` series."""
    choices = DICOM_WINDOWS[region]
    p = np.array([w for _, w in choices])
    return choices[int(rng.choice(len(choices), p=p / p.sum()))][0]


def sample_profile(rng: np.random.Generator, difficulty: float, region: str) -> AcquisitionProfile:
    """A random profile; ``difficulty`` in [0, 1] scales how often each degradation occurs.

    At difficulty 0 every series is clean; at 1 about 85 % of series have a degradation.
    """
    degradations = tuple(d for d in DEGRADATIONS if rng.random() < difficulty * DEGRADATION_RATE[d])
    noisy = 'noisy' in degradations
    low_contrast = 'low_contrast' in degradations
    phase = Phase.UNENHANCED if rng.random() < (0.6 if low_contrast else 0.2) else Phase.VENOUS
    padding = None
    if rng.random() < 0.35:
        padding = float(rng.choice([-1024.0, -2000.0, -3024.0], p=[0.5, 0.25, 0.25]))
    return AcquisitionProfile(
        degradations=degradations,
        noise_sigma_hu=round(rng.uniform(30.0, 80.0) if noisy else rng.uniform(5.0, 12.0), 1),
        noise_correlation_px=rng.uniform(0.5, 1.1),
        shading_amplitude_hu=round(rng.uniform(50.0, 150.0), 1)
        if 'shading' in degradations
        else 0.0,
        window_hu=sample_window(rng, region),
        phase=phase,
        padding_hu=padding,
    )


def shading_field(
    rng: np.random.Generator,
    size_px: int,
    spacing_mm: float,
    body_center_px: tuple[float, float],
    body_axes_px: tuple[float, float],
    amplitude_hu: float,
) -> np.ndarray:
    """A smooth bias for one series: cupping, a linear tilt and a low-frequency field.

    Returns:
        ``(size_px, size_px) float32`` HU whose largest magnitude inside the body ellipse is
        ``amplitude_hu``.
    """
    cx, cy = body_center_px
    ax, ay = body_axes_px
    xs = (np.arange(size_px, dtype=np.float32) - cx) / ax
    ys = ((np.arange(size_px, dtype=np.float32) - cy) / ay)[:, None]
    r2 = xs * xs + ys * ys
    cupping = np.clip(1.0 - r2, 0.0, 1.0) * (-1.0 if rng.random() < 0.75 else 1.0)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    tilt = 0.5 * (np.cos(angle) * xs + np.sin(angle) * ys)
    blob = smooth_noise(rng, size_px, spacing_mm, 150.0)
    w = rng.dirichlet((1.5, 1.0, 1.0))
    field = (w[0] * cupping + w[1] * tilt + w[2] * 0.5 * blob).astype(np.float32)
    peak = float(np.abs(field[r2 <= 1.0]).max()) if (r2 <= 1.0).any() else 1.0
    return field * np.float32(amplitude_hu / max(peak, 1e-6))


def noise_kernel(correlation_px: float) -> np.ndarray:
    """The 1-D Gaussian ``(K, 1) float32`` that gives :func:`correlated_noise` its grain."""
    ksize = max(3, int(2 * round(3 * correlation_px) + 1))
    return cv2.getGaussianKernel(ksize, correlation_px, cv2.CV_32F)


def correlated_noise(rng: np.random.Generator, size_px: int, correlation_px: float) -> np.ndarray:
    """Unit-std Gaussian noise blurred by ``correlation_px``, ``(size_px, size_px) float32``."""
    noise = rng.standard_normal((size_px, size_px), dtype=np.float32)
    kernel = noise_kernel(correlation_px)
    noise = cv2.sepFilter2D(noise, -1, kernel, kernel, borderType=cv2.BORDER_REFLECT)
    # A separable kernel k (x) k scales white-noise std by sum(k ** 2).
    return noise * np.float32(1.0 / float((kernel**2).sum()))


def degrade(
    hu: np.ndarray,
    body_weight: np.ndarray,
    profile: AcquisitionProfile,
    shading: np.ndarray | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """One acquired slice: shading and noise added, through the profile's kernel (if any),
    clipped to the CT range, circle padded.

    Args:
        hu: the noise-free phantom slice, ``(N, N) float32`` HU.
        body_weight: ``(N, N) float32`` in [0, 1], 1 inside the patient.
        shading: the series' :func:`shading_field`, or ``None``.

    Returns:
        ``(N, N) float32`` HU.
    """
    out = hu.copy()
    if shading is not None:
        out += shading * body_weight
    sigma = np.float32(profile.noise_sigma_hu) * (0.45 + 0.55 * body_weight)
    out += sigma * correlated_noise(rng, hu.shape[0], profile.noise_correlation_px)
    if profile.kernel is not None:
        out = profile.kernel.apply(out)
    np.clip(out, HU_MIN, HU_MAX, out=out)
    if profile.padding_hu is not None:
        out[_outside_circle(hu.shape[0])] = profile.padding_hu
    return out


@functools.cache
def _outside_circle(size_px: int) -> np.ndarray:
    """Pixels outside the reconstruction circle inscribed in the image, ``(N, N) bool``."""
    xs = np.arange(size_px, dtype=np.float32) - (size_px - 1) / 2.0
    return xs[None, :] ** 2 + xs[:, None] ** 2 > (size_px / 2.0) ** 2
