// GLCAE forward pass on the CPU, fused per image: the inference path of mmlesion.enhancement.glcae.
//
// The torch ops in mmlesion/enhancement/*.py are the specification and stay the training path
// (they are differentiable). This file computes the same forward pass with one loop nest per step
// and one image per thread, instead of about a hundred tensor-wide passes: linear stretch, the
// global branch (histogram, exact tone-distortion search over the lambda candidates, mapping), the
// local branch (OpenCV's CLAHE tile tables and their bilinear blend, two integer grids blended for a
// fractional one), the fusion weights and the Laplacian-pyramid fusion. Each function names the
// Python function it mirrors; integer quantities (histograms, gray levels, CLAHE tables, lambda) are
// computed exactly as there, floating-point results agree to float rounding (tests/test_enhancement_native.py).

#include <ATen/Parallel.h>
#include <torch/extension.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

namespace {

constexpr int kBins = 256;

// Image plane of height h and width w, row-major; the values are not initialised (every plane is
// written in full before it is read, and zeroing them cost a pass each).
struct Plane {
  int h = 0;
  int w = 0;
  std::unique_ptr<float[]> values;
  Plane() = default;
  Plane(int height, int width)
      : h(height), w(width), values(new float[static_cast<size_t>(height) * width]) {}
  size_t size() const { return static_cast<size_t>(h) * w; }
  float* data() { return values.get(); }
  const float* data() const { return values.get(); }
  float& operator[](size_t i) { return values[i]; }
  float operator[](size_t i) const { return values[i]; }
  float* row(int y) { return data() + static_cast<size_t>(y) * w; }
  const float* row(int y) const { return data() + static_cast<size_t>(y) * w; }
  Plane clone() const {
    Plane copy(h, w);
    std::copy(data(), data() + size(), copy.data());
    return copy;
  }
};

// Four float / int32 lanes (GCC and Clang vector extensions: SSE2 on x86-64, NEON on ARM). The
// per-pixel table reads below are gathers that compilers do not vectorise by themselves; written
// four pixels at a time, the arithmetic around the loads runs in vector registers. The lanes do
// exactly the scalar operations, so results do not depend on the width.
typedef float Float4 __attribute__((vector_size(16)));
typedef int32_t Int4 __attribute__((vector_size(16)));

inline Float4 load4(const float* p) {
  Float4 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void store4(float* p, Float4 v) { std::memcpy(p, &v, sizeof(v)); }
inline Int4 load4(const int32_t* p) {
  Int4 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline Float4 gather4(const float* base, Int4 offset) {
  return Float4{base[offset[0]], base[offset[1]], base[offset[2]], base[offset[3]]};
}
inline Float4 min4(Float4 a, Float4 b) { return a < b ? a : b; }
inline Float4 max4(Float4 a, Float4 b) { return a > b ? a : b; }

// Round half to even, as torch.round, for |v| < 2^22 (float) or 2^51 (double): adding and removing
// 1.5 * 2^23 (2^52) leaves no fraction bits, and the default rounding mode is to nearest even.
// std::nearbyint is a libm call that saves and restores the floating-point environment: it cost
// more than the rest of the table arithmetic.
inline float round_even(float v) {
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  return (v + kMagic) - kMagic;
}
inline double round_even(double v) {
  constexpr double kMagic = 6755399441055744.0;  // 1.5 * 2^52
  return (v + kMagic) - kMagic;
}

// Reflect-101 index of position i on a side of n pixels, folding as often as needed
// (clahe_tiles.reflect101_index).
inline int reflect101(int i, int n) {
  if (n == 1) return 0;
  const int period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

// Running extremes of the values a loop writes, four lanes at a time, so that the loop that
// produces a plane also yields its min_max (one pass over the plane fewer). Exact: min and max
// do not round.
struct Extremes {
  Float4 lo = Float4{} + std::numeric_limits<float>::infinity();
  Float4 hi = Float4{} - std::numeric_limits<float>::infinity();
  void add(Float4 v) {
    lo = min4(v, lo);
    hi = max4(v, hi);
  }
  void add(float v) { add(Float4{} + v); }
  float low() const { return std::min(std::min(lo[0], lo[1]), std::min(lo[2], lo[3])); }
  float high() const { return std::max(std::max(hi[0], hi[1]), std::max(hi[2], hi[3])); }
};

// Smallest and largest value of n >= 1 floats, four lanes at a time.
void min_max(const float* v, size_t n, float& low, float& high) {
  Extremes range;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) range.add(load4(v + i));
  for (; i < n; ++i) range.add(v[i]);
  low = range.low();
  high = range.high();
}

// Counting: consecutive pixels of a smooth image often fall in the same bin, and an increment that
// waits for the previous one to the same counter stalls the pipeline; counting in four
// interleaved copies and summing them avoids the chain.
constexpr int kCopies = 4;

inline float clamp01(float v) { return std::min(std::max(v, 0.0f), 1.0f); }

// linear_stretch and histogram.gray_levels in one pass: min-max scale to [0, 1] (a constant image
// is only clamped) and round(255 s) (half to even) clamped to [0, 255]. With white > 0 the image
// is clamp(x / white, 0, 1), torch's (x / white).clamp(0, 1), computed here on the fly: division
// by a positive number and clamping are monotonic, so its extremes are those of x, scaled alike.
void stretch_and_levels(const float* x, int64_t n, float white, float* stretched,
                        uint8_t* levels) {
  const bool scaled = white > 0.0f;
  float low, high;
  min_max(x, n, low, high);
  if (scaled) {
    low = clamp01(low / white);
    high = clamp01(high / white);
  }
  const float span = high - low;
  const bool constant = !(span > 0.0f);
  const float scale = constant ? 1.0f : 1.0f / span;
  const float offset = constant ? 0.0f : -(low * scale);
  auto write = [&](int64_t i, float value) {
    const float v = clamp01(value * scale + offset);
    stretched[i] = v;
    // v * 255 lies in [0, 255]: torch's clamp of the rounded level never applies.
    levels[i] = static_cast<uint8_t>(static_cast<int>(round_even(v * 255.0f)));
  };
  if (scaled) {
    for (int64_t i = 0; i < n; ++i) write(i, clamp01(x[i] / white));
  } else {
    for (int64_t i = 0; i < n; ++i) write(i, x[i]);
  }
}

// histogram.image_histograms of one image: counts of its n gray levels.
void level_histogram(const uint8_t* levels, int64_t n, int64_t* hist) {
  int32_t copies[kCopies * kBins] = {0};
  int64_t i = 0;
  for (; i + kCopies <= n; i += kCopies) {
    for (int c = 0; c < kCopies; ++c) ++copies[c * kBins + levels[i + c]];
  }
  for (; i < n; ++i) ++copies[levels[i]];
  for (int k = 0; k < kBins; ++k) {
    hist[k] = 0;
    for (int c = 0; c < kCopies; ++c) hist[k] += copies[c * kBins + k];
  }
}

// global_histogram.histogram_mapping for one lambda: T(k) = round(255 cdf(k)) of the modified
// histogram, in double precision with the same operations (and summation order) as the torch code.
void histogram_mapping(const double* prob, double lam, int* mapping) {
  // The modified histogram first (independent divisions, vectorised), then the running sum.
  double modified[kBins];
  for (int k = 0; k < kBins; ++k) modified[k] = (prob[k] + lam / kBins) / (1.0 + lam);
  double cdf = 0.0;
  for (int k = 0; k < kBins; ++k) {
    cdf += modified[k];
    const double t = round_even(cdf * (kBins - 1));
    mapping[k] = static_cast<int>(std::min(std::max(t, 0.0), static_cast<double>(kBins - 1)));
  }
}

// global_histogram.tone_distortion for one mapping: the largest gap between occupied levels that
// the (non-decreasing) mapping merges.
int tone_distortion(const int64_t* hist, const int* mapping) {
  int distortion = 0;
  int run_value = -1;
  int run_first = 0;  // first occupied level of the current run of equal mapped values
  for (int k = 0; k < kBins; ++k) {
    if (hist[k] == 0) continue;
    if (mapping[k] != run_value) {
      run_value = mapping[k];
      run_first = k;
    } else {
      distortion = std::max(distortion, k - run_first);
    }
  }
  return distortion;
}

// global_histogram.global_luts for one image: the least-distortion mapping of histogram hist as a
// table in [0, 1] (identity for a single-level image); returns the chosen lambda.
double global_lut(const int64_t* hist, const double* lam, int64_t num_lam, float* lut) {
  double total = 0.0;
  int occupied = 0;
  for (int k = 0; k < kBins; ++k) {
    total += static_cast<double>(hist[k]);
    occupied += hist[k] > 0;
  }
  double prob[kBins];
  for (int k = 0; k < kBins; ++k) prob[k] = static_cast<double>(hist[k]) / total;

  int mapping[kBins];
  int best = std::numeric_limits<int>::max();
  double chosen = lam[0];
  for (int64_t j = 0; j < num_lam; ++j) {  // the smallest candidate reaching the least distortion
    histogram_mapping(prob, lam[j], mapping);
    const int d = tone_distortion(hist, mapping);
    if (d < best) {
      best = d;
      chosen = lam[j];
      if (d == 0) break;  // no candidate distorts less: the first zero is the answer
    }
  }
  histogram_mapping(prob, chosen, mapping);
  for (int k = 0; k < kBins; ++k) {
    const double level = occupied == 1 ? static_cast<double>(k) : static_cast<double>(mapping[k]);
    lut[k] = static_cast<float>(level / (kBins - 1));
  }
  return chosen;
}

// clahe_lut._opencv_luts (rounded) for one tile: OpenCV's clip, redistribution and scaling.
void opencv_tile_lut(const int64_t* hist, int64_t clip, int64_t tile_pixels, float scale,
                     float* lut) {
  int64_t cdf[kBins];
  int64_t sum = 0;
  for (int k = 0; k < kBins; ++k) {
    sum += std::min(hist[k], clip);
    cdf[k] = sum;
  }
  const int64_t excess = tile_pixels - sum;
  const int64_t per_bin = excess / kBins;
  const int64_t residual = excess - per_bin * kBins;
  const int64_t step = std::max<int64_t>(kBins / std::max<int64_t>(residual, 1), 1);
  // Bins <= k receive min(k / step + 1, residual) of the residual; the quotient is counted up
  // instead of divided (an integer division per entry was the slowest part of the tables).
  float counts[kBins];
  int64_t quotient = 0, remainder = 0;
  for (int k = 0; k < kBins; ++k) {
    const int64_t bonus = std::min<int64_t>(quotient + 1, residual);
    if (++remainder == step) {
      ++quotient;
      remainder = 0;
    }
    counts[k] = static_cast<float>(cdf[k] + per_bin * (k + 1) + bonus);
  }
  for (int k = 0; k < kBins; ++k) {  // vectorised
    const float level = round_even(counts[k] * scale);
    lut[k] = std::min(std::max(level, 0.0f), static_cast<float>(kBins - 1)) / 255.0f;
  }
}

// torch.lerp(a, b, w) element formula, for a float or a Float4 of values and one weight.
template <typename T>
inline T lerp(T a, T b, float w) {
  return w < 0.5f ? a + w * (b - a) : b - (b - a) * (1.0f - w);
}

// Linear read of a 256-entry table between entries index and index + 1. Blends here are written
// a + w (b - a), exact where a == b, so that constant regions stay exactly constant.
inline float read_lut(const float* lut, int index, float frac) {
  return lut[index] + frac * (lut[index + 1] - lut[index]);
}

// Table position of a value s in [0, 1]: grid_sample's align_corners unnormalisation of the
// coordinate 2 s - 1 (lut.sample_luts), as the lower entry and the fraction towards the next.
inline void level_position(float s, int& index, float& frac) {
  float pos = ((s * 2.0f - 1.0f) + 1.0f) * 127.5f;
  pos = std::min(std::max(pos, 0.0f), 255.0f);
  index = std::min(static_cast<int>(pos), kBins - 2);
  frac = pos - static_cast<float>(index);
}

// level_position of four values s.
inline void level_position4(Float4 s, Int4& index, Float4& frac) {
  const Float4 pos = min4(max4(((s * 2.0f - 1.0f) + 1.0f) * 127.5f, Float4{}), Float4{} + 255.0f);
  index = __builtin_convertvector(pos, Int4);
  index = index < kBins - 2 ? index : kBins - 2;
  frac = pos - __builtin_convertvector(index, Float4);
}

// OpenCV's CLAHE tables of one image for an integer grid g, with the interpolation geometry of
// clahe_tiles.tile_layout: tile histograms on the padded image, clipped tables, and per row and
// column the two tiles to blend and the weight of the second.
struct ClaheTables {
  std::vector<float> luts;        // (g * g, 256)
  std::vector<int32_t> left, right;  // per column: offset of the left / right tile's table
  std::vector<float> col_weight;  // per column: weight of the right tile
  std::vector<int> upper, lower;  // per row: offset of the upper / lower tile row's tables
  std::vector<float> row_weight;  // per row: weight of the lower tile row (0: one row only)

  // The CLAHE value of the pixel at (y, x) whose value sits at (index, frac) of the tables.
  float value(int y, int x, int index, float frac) const {
    const float* up = luts.data() + upper[y];
    const float wx = col_weight[x];
    const float left_value = read_lut(up + left[x], index, frac);
    const float top = left_value + wx * (read_lut(up + right[x], index, frac) - left_value);
    if (!(row_weight[y] > 0.0f)) return top;
    const float* down = luts.data() + lower[y];
    const float down_left = read_lut(down + left[x], index, frac);
    const float bottom = down_left + wx * (read_lut(down + right[x], index, frac) - down_left);
    return lerp(top, bottom, row_weight[y]);
  }

  // value() of the four pixels (y, x .. x + 3), whose values sit at (index, frac).
  Float4 value4(int y, int x, Int4 index, Float4 frac) const {
    const Int4 left4 = load4(left.data() + x) + index, right4 = load4(right.data() + x) + index;
    const Float4 wx = load4(col_weight.data() + x);
    auto read = [&](const float* row, Int4 offset) {
      const Float4 low = gather4(row, offset);
      return low + frac * (gather4(row + 1, offset) - low);
    };
    auto blend = [&](const float* row) {
      const Float4 a = read(row, left4);
      return a + wx * (read(row, right4) - a);
    };
    const Float4 top = blend(luts.data() + upper[y]);
    const float w = row_weight[y];
    if (!(w > 0.0f)) return top;
    const Float4 bottom = blend(luts.data() + lower[y]);
    return lerp(top, bottom, w);
  }
};

ClaheTables clahe_tables(const uint8_t* levels, int height, int width, int g, float clip_limit) {
  const bool padded = height % g != 0 || width % g != 0;
  const int height_pad = padded ? height + g - height % g : height;
  const int width_pad = padded ? width + g - width % g : width;
  const int tile_h = height_pad / g, tile_w = width_pad / g;
  const int64_t tile_pixels = static_cast<int64_t>(tile_h) * tile_w;

  // Tile histograms in kCopies interleaved copies: copy c of tile t at (t * kCopies + c) * kBins.
  const size_t tiles = static_cast<size_t>(g) * g;
  std::vector<int32_t> copies(tiles * kCopies * kBins, 0);
  std::vector<int> col_source(width_pad), col_offset(width_pad);
  for (int x = 0; x < width_pad; ++x) {
    col_source[x] = reflect101(x, width);
    col_offset[x] = ((x / tile_w) * kCopies + x % kCopies) * kBins;
  }
  for (int y = 0; y < height_pad; ++y) {
    const uint8_t* src = levels + static_cast<size_t>(reflect101(y, height)) * width;
    int32_t* tile_row = copies.data() + static_cast<size_t>(y / tile_h) * g * kCopies * kBins;
    for (int x = 0; x < width_pad; ++x) ++tile_row[col_offset[x] + src[col_source[x]]];
  }

  // OpenCV's integer clip, computed in double precision as OpenCV does (clahe_lut.clahe_luts).
  const double clip_counts = std::floor(static_cast<double>(clip_limit) * tile_pixels / kBins);
  const int64_t clip = static_cast<int64_t>(
      std::min(std::max(clip_counts, 1.0), static_cast<double>(tile_pixels)));
  const float scale = 255.0f / static_cast<float>(tile_pixels);
  ClaheTables t;
  t.luts.resize(tiles * kBins);
  int64_t hist[kBins];
  for (size_t tile = 0; tile < tiles; ++tile) {
    for (int k = 0; k < kBins; ++k) {
      hist[k] = 0;
      for (int c = 0; c < kCopies; ++c) hist[k] += copies[(tile * kCopies + c) * kBins + k];
    }
    opencv_tile_lut(hist, clip, tile_pixels, scale, t.luts.data() + tile * kBins);
  }

  // OpenCV's interpolation coordinates: tyf = y / tile_h - 0.5 in float32, likewise columns;
  // both tiles clamped to [0, g - 1] (then equal, and the weight irrelevant).
  const float inv_tile_h = 1.0f / static_cast<float>(tile_h);
  const float inv_tile_w = 1.0f / static_cast<float>(tile_w);
  t.left.resize(width);
  t.right.resize(width);
  t.col_weight.resize(width);
  for (int x = 0; x < width; ++x) {
    const float txf = std::min(std::max(static_cast<float>(x) * inv_tile_w - 0.5f, 0.0f),
                               static_cast<float>(g - 1));
    const int first = static_cast<int>(txf);
    t.left[x] = first * kBins;
    t.right[x] = std::min(first + 1, g - 1) * kBins;
    t.col_weight[x] = txf - static_cast<float>(first);
  }
  t.upper.resize(height);
  t.lower.resize(height);
  t.row_weight.resize(height);
  for (int y = 0; y < height; ++y) {
    const float tyf = static_cast<float>(y) * inv_tile_h - 0.5f;
    const int first = static_cast<int>(std::floor(tyf));
    const bool between = first >= 0 && first + 1 <= g - 1;
    const int upper = std::min(std::max(first, 0), g - 1);
    t.upper[y] = upper * g * kBins;
    t.lower[y] = (between ? upper + 1 : upper) * g * kBins;
    t.row_weight[y] = between ? tyf - static_cast<float>(first) : 0.0f;
  }
  return t;
}

// Both GLCAE branches in one pass over the stretched image: the global one read through its table,
// the local one from the CLAHE tables of floor(g), blended with those of ceil(g) by weight
// g - floor(g) when g is fractional (clahe.clahe_images).
// Also returns the extremes of both planes (the brightness weights' min-max scaling).
void branches(const Plane& s, const float* global_table, const ClaheTables& floor_grid,
              const ClaheTables* ceil_grid, float ceil_weight, Plane& global, Plane& local,
              Extremes& global_range, Extremes& local_range) {
  const int width = s.w;
  for (int y = 0; y < s.h; ++y) {
    const float* src = s.row(y);
    float* global_row = global.row(y);
    float* local_row = local.row(y);
    int x = 0;
    for (; x + 4 <= width; x += 4) {
      Int4 index;
      Float4 frac;
      level_position4(load4(src + x), index, frac);
      const Float4 low = gather4(global_table, index);
      const Float4 global_value = low + frac * (gather4(global_table + 1, index) - low);
      store4(global_row + x, global_value);
      global_range.add(global_value);
      Float4 value = floor_grid.value4(y, x, index, frac);
      if (ceil_grid != nullptr) value = lerp(value, ceil_grid->value4(y, x, index, frac), ceil_weight);
      store4(local_row + x, value);
      local_range.add(value);
    }
    for (; x < width; ++x) {
      int index;
      float frac;
      level_position(src[x], index, frac);
      global_row[x] = read_lut(global_table, index, frac);
      global_range.add(global_row[x]);
      float value = floor_grid.value(y, x, index, frac);
      if (ceil_grid != nullptr) value = lerp(value, ceil_grid->value(y, x, index, frac), ceil_weight);
      local_row[x] = value;
      local_range.add(value);
    }
  }
}

// Saturated magnitude of half of OpenCV's 3x3 Laplacian (diagonal neighbours - 4 x, reflect-101
// border, replicate for a one-pixel side) minus the noise dead band (fusion_weights.contrast_weight).
// Returns the largest magnitude (the contrast normaliser's peak).
float half_laplacian_magnitude(const Plane& v, float noise, Plane& out) {
  const int height = v.h, width = v.w;
  const bool reflect = std::min(height, width) > 1;
  auto source = [reflect](int i, int n) {
    if (reflect) return i < 0 ? -i : (i >= n ? 2 * n - 2 - i : i);
    return std::min(std::max(i, 0), n - 1);
  };
  // std::min(std::max(|d - 4 c| - noise, 0), 0.5), for one value or four lanes.
  auto magnitude = [noise](auto diagonal, auto centre) {
    using Value = decltype(centre);
    Value m = diagonal - 4.0f * centre;
    m = (m < 0.0f ? -m : m) - noise;
    m = m < 0.0f ? Value{} : m;
    return 0.5f < m ? Value{} + 0.5f : m;
  };
  Extremes peak;
  for (int y = 0; y < height; ++y) {
    const float* up = v.row(source(y - 1, height));
    const float* down = v.row(source(y + 1, height));
    const float* centre = v.row(y);
    float* dst = out.row(y);
    int x = 1;
    for (; x + 4 <= width - 1; x += 4) {
      const Float4 diagonal = (load4(up + x - 1) + load4(down + x - 1)) +
                              (load4(up + x + 1) + load4(down + x + 1));
      const Float4 value = magnitude(diagonal, load4(centre + x));
      store4(dst + x, value);
      peak.add(value);
    }
    for (; x < width - 1; ++x) {
      dst[x] = magnitude((up[x - 1] + down[x - 1]) + (up[x + 1] + down[x + 1]), centre[x]);
      peak.add(dst[x]);
    }
    for (int edge : {0, width - 1}) {
      const int left = source(edge - 1, width), right = source(edge + 1, width);
      dst[edge] = magnitude((up[left] + down[left]) + (up[right] + down[right]), centre[edge]);
      peak.add(dst[edge]);
    }
  }
  return peak.high();
}

// Brightness exponent -z^2 of fusion_weights.brightness_weight: z = (s - 0.5) / (sqrt(2) 0.2)
// with s the min-max scaled value (v's extremes given), in float32 as torch computes it.
void brightness_exponent(const Plane& v, const Extremes& range, float* out) {
  const float low = range.low(), high = range.high();
  const float sigma = static_cast<float>(std::sqrt(2.0) * 0.2);
  const float scale = 1.0f / (std::max(high - low, 1e-12f) * sigma);
  const float shift = -(low * scale) - static_cast<float>(0.5 / (std::sqrt(2.0) * 0.2));
  const float* src = v.data();
  for (size_t i = 0; i < v.size(); ++i) {
    const float z = src[i] * scale + shift;
    out[i] = -(z * z);
  }
}

// fusion_weights.fusion_weights of both branches, normalized_weight of the global one, and the
// difference global - local that the pyramid fuses: share and difference overwrite the global
// branch's magnitude plane and the global branch.
void shares_and_difference(Plane& global, const Plane& local, const Extremes& global_range,
                           const Extremes& local_range, Plane& global_magnitude,
                           Plane& local_magnitude) {
  // fusion_weights' constants in half-Laplacian units, rounded to float32 as torch does.
  const float noise = static_cast<float>(1e-5 / 2), contrast_floor = static_cast<float>(1e-5);
  const float peak_floor = static_cast<float>((1.0 / 255.0) / 2);
  const size_t n = global.size();
  // Reciprocals of the contrast normalisers max(peak magnitude, floor).
  const float inv_global =
      1.0f / std::max(half_laplacian_magnitude(global, noise, global_magnitude), peak_floor);
  const float inv_local =
      1.0f / std::max(half_laplacian_magnitude(local, noise, local_magnitude), peak_floor);
  // Both exponentials in one call of torch's vectorised exp.
  std::unique_ptr<float[]> brightness(new float[2 * n]);
  brightness_exponent(global, global_range, brightness.get());
  brightness_exponent(local, local_range, brightness.get() + n);
  torch::from_blob(brightness.get(), {static_cast<int64_t>(2 * n)},
                   torch::TensorOptions().dtype(torch::kFloat32))
      .exp_();
  const float* bright_global = brightness.get();
  const float* bright_local = brightness.get() + n;
  float* share = global_magnitude.data();
  const float* mag_local = local_magnitude.data();
  float* g = global.data();
  const float* l = local.data();
  for (size_t i = 0; i < n; ++i) {
    const float contrast_global = share[i] * inv_global + contrast_floor;
    const float contrast_local = mag_local[i] * inv_local + contrast_floor;
    const float weight_global =
        contrast_global < bright_global[i] ? contrast_global : bright_global[i];
    const float weight_local = contrast_local < bright_local[i] ? contrast_local : bright_local[i];
    share[i] = weight_global / (weight_global + weight_local);
    g[i] = g[i] - l[i];
  }
}

// laplacian_pyramid.pyr_down: 5-tap binomial blur (reflect-101, replicate for sides <= 2), halved.
// The blur is separable; the column pass runs first over whole rows (contiguous, vectorised) and
// leaves half the rows to the strided row pass (torch filters rows first: same sums, other
// rounding).
Plane pyr_down(const Plane& in) {
  const int height = in.h, width = in.w;
  const int out_h = (height + 1) / 2, out_w = (width + 1) / 2;
  const bool reflect = std::min(height, width) > 2;
  auto index = [reflect](int i, int n) {
    return reflect ? reflect101(i, n) : std::min(std::max(i, 0), n - 1);
  };
  auto taps = [](float t0, float t1, float t2, float t3, float t4) {
    return (t0 + t4) + 4.0f * (t1 + t3) + 6.0f * t2;
  };
  Plane cols(out_h, width);
  for (int y = 0; y < out_h; ++y) {
    const float* r0 = in.row(index(2 * y - 2, height));
    const float* r1 = in.row(index(2 * y - 1, height));
    const float* r2 = in.row(index(2 * y, height));
    const float* r3 = in.row(index(2 * y + 1, height));
    const float* r4 = in.row(index(2 * y + 2, height));
    float* dst = cols.row(y);
    for (int x = 0; x < width; ++x) dst[x] = taps(r0[x], r1[x], r2[x], r3[x], r4[x]);
  }
  // Output columns whose five taps lie inside the row: 2x - 2 >= 0 and 2x + 2 <= width - 1.
  const int inner_begin = 1, inner_end = std::max(inner_begin, (width - 1) / 2);
  Plane out(out_h, out_w);
  for (int y = 0; y < out_h; ++y) {
    const float* src = cols.row(y);
    float* dst = out.row(y);
    for (int x = inner_begin; x < inner_end; ++x) {
      const float* t = src + 2 * x - 2;
      dst[x] = taps(t[0], t[1], t[2], t[3], t[4]) * (1.0f / 256.0f);
    }
    for (int x = 0; x < out_w; ++x) {
      if (x >= inner_begin && x < inner_end) continue;
      dst[x] = taps(src[index(2 * x - 2, width)], src[index(2 * x - 1, width)],
                    src[index(2 * x, width)], src[index(2 * x + 1, width)],
                    src[index(2 * x + 2, width)]) *
               (1.0f / 256.0f);
    }
  }
  return out;
}

// laplacian_pyramid.pyr_up: binomial 2x interpolation (replicated edges), cropped to out_h x out_w.
Plane pyr_up(const Plane& in, int out_h, int out_w) {
  const int height = in.h, width = in.w;
  auto clamped = [](int i, int n) { return std::min(std::max(i, 0), n - 1); };
  // Even outputs 2j: (x[j-1] + x[j+1]) + 6 x[j]; odd outputs 2j+1: (x[j] + x[j+1]) 4 (each / 8).
  std::vector<float> even(width), odd(width);
  Plane cols(height, out_w);
  for (int y = 0; y < height; ++y) {
    const float* src = in.row(y);
    float* dst = cols.row(y);
    for (int j = 1; j < width - 1; ++j) {
      even[j] = ((src[j - 1] + src[j + 1]) + 6.0f * src[j]) * (1.0f / 64.0f);
      odd[j] = ((src[j] + src[j + 1]) * 4.0f) * (1.0f / 64.0f);
    }
    for (int j : {0, width - 1}) {
      const float before = src[clamped(j - 1, width)], after = src[clamped(j + 1, width)];
      even[j] = ((before + after) + 6.0f * src[j]) * (1.0f / 64.0f);
      odd[j] = ((src[j] + after) * 4.0f) * (1.0f / 64.0f);
    }
    for (int x = 0; x + 1 < out_w; x += 2) {
      dst[x] = even[x / 2];
      dst[x + 1] = odd[x / 2];
    }
    if (out_w % 2 == 1) dst[out_w - 1] = even[out_w / 2];
  }
  Plane out(out_h, out_w);
  for (int y = 0; y < out_h; ++y) {
    const int j = y / 2;
    const float* centre = cols.row(j);
    const float* after = cols.row(clamped(j + 1, height));
    const float* before = cols.row(clamped(j - 1, height));
    float* dst = out.row(y);
    if (y % 2 == 0) {
      for (int x = 0; x < out_w; ++x) dst[x] = (before[x] + after[x]) + 6.0f * centre[x];
    } else {
      for (int x = 0; x < out_w; ++x) dst[x] = (centre[x] + after[x]) * 4.0f;
    }
  }
  return out;
}

// laplacian_pyramid.pyramid_fusion(a, b, weight_a) = b + collapse(Gw_k * L(a - b)_k), clamped
// to [0, 1] and multiplied by scale into result; difference and weight are consumed.
void pyramid_fusion(Plane difference, Plane weight, int levels, const Plane& b, float scale,
                    float* result) {
  std::vector<Plane> diff_pyr, weight_pyr;
  diff_pyr.push_back(std::move(difference));
  weight_pyr.push_back(std::move(weight));
  for (int k = 1; k < levels; ++k) {
    diff_pyr.push_back(pyr_down(diff_pyr.back()));
    weight_pyr.push_back(pyr_down(weight_pyr.back()));
  }
  Plane out = diff_pyr.back().clone();
  for (size_t i = 0; i < out.size(); ++i) out[i] *= weight_pyr.back()[i];
  for (int k = levels - 2; k >= 0; --k) {
    const Plane& level = diff_pyr[k];
    const Plane& level_weight = weight_pyr[k];
    Plane up_diff = pyr_up(diff_pyr[k + 1], level.h, level.w);
    Plane up_out = pyr_up(out, level.h, level.w);
    for (size_t i = 0; i < up_out.size(); ++i) {
      up_out[i] += level_weight[i] * (level[i] - up_diff[i]);
    }
    out = std::move(up_out);
  }
  for (size_t i = 0; i < b.size(); ++i) {
    result[i] = std::min(std::max(b[i] + out[i], 0.0f), 1.0f) * scale;
  }
}

// glcae._glcae_images for one image; with white > 0, of clamp(x / white, 0, 1), and the result
// multiplied by white (the caller's intensity scale).
double glcae_image(const float* x, int height, int width, float clip_limit, float grid_size,
                   const double* lam, int64_t num_lam, int levels, float white, float* result) {
  const int64_t n = static_cast<int64_t>(height) * width;
  Plane stretched(height, width);
  std::unique_ptr<uint8_t[]> gray(new uint8_t[n]);
  stretch_and_levels(x, n, white, stretched.data(), gray.get());
  int64_t hist[kBins];
  level_histogram(gray.get(), n, hist);
  float global_table[kBins];
  const double chosen = global_lut(hist, lam, num_lam, global_table);

  // Fractional grids blend floor(g) and ceil(g) with weight g - floor(g) (clahe.clahe_images).
  const float lower = std::floor(grid_size), upper = std::ceil(grid_size);
  const ClaheTables floor_grid =
      clahe_tables(gray.get(), height, width, static_cast<int>(lower), clip_limit);
  ClaheTables ceil_grid;
  if (upper != lower) {
    ceil_grid = clahe_tables(gray.get(), height, width, static_cast<int>(upper), clip_limit);
  }
  Plane global_branch(height, width), local_branch(height, width);
  Extremes global_range, local_range;
  branches(stretched, global_table, floor_grid, upper != lower ? &ceil_grid : nullptr,
           grid_size - lower, global_branch, local_branch, global_range, local_range);

  Plane share(height, width), scratch(height, width);
  shares_and_difference(global_branch, local_branch, global_range, local_range, share, scratch);
  pyramid_fusion(std::move(global_branch), std::move(share), levels, local_branch,
                 white > 0.0f ? white : 1.0f, result);
  return chosen;
}

}  // namespace

// GLCAE of (N, H, W) float32 images with (N,) float32 clip limits and grid sizes (validated and
// clamped by the caller), (L,) float64 increasing lambda candidates and the pyramid depth. With
// intensity_max, the images are intensities on [0, intensity_max]: GLCAE of
// (images / intensity_max).clamp(0, 1), multiplied back by intensity_max, as the torch ops would
// compute it (in float32) but without the two extra passes.
// Returns the (N, H, W) float32 enhanced images and the (N,) float64 chosen lambda.
std::tuple<at::Tensor, at::Tensor> glcae_forward(const at::Tensor& images,
                                                 const at::Tensor& clip_limit,
                                                 const at::Tensor& grid_size,
                                                 const at::Tensor& lam_candidates,
                                                 int64_t levels,
                                                 std::optional<double> intensity_max) {
  TORCH_CHECK(images.device().is_cpu() && images.scalar_type() == at::kFloat && images.dim() == 3,
              "glcae_forward: images must be a (N, H, W) float32 CPU tensor");
  TORCH_CHECK(levels >= 1, "glcae_forward: levels must be >= 1, got ", levels);
  TORCH_CHECK(!intensity_max || *intensity_max > 0.0,
              "glcae_forward: intensity_max must be > 0, got ", intensity_max.value_or(0.0));
  // 0: the images are GLCAE's input as they are.
  const float white = intensity_max ? static_cast<float>(*intensity_max) : 0.0f;
  const at::Tensor x = images.contiguous();
  const at::Tensor clip = clip_limit.to(at::kFloat).contiguous();
  const at::Tensor grid = grid_size.to(at::kFloat).contiguous();
  const at::Tensor lam = lam_candidates.to(at::kDouble).contiguous();
  const int64_t num = x.size(0), height = x.size(1), width = x.size(2);
  TORCH_CHECK(clip.numel() == num && grid.numel() == num,
              "glcae_forward: one clip limit and grid size per image expected");
  TORCH_CHECK(lam.numel() >= 1, "glcae_forward: lam_candidates must not be empty");
  at::Tensor out = at::empty_like(x);
  at::Tensor chosen = at::empty({num}, x.options().dtype(at::kDouble));
  const float* src = x.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  const float* clip_ptr = clip.data_ptr<float>();
  const float* grid_ptr = grid.data_ptr<float>();
  const double* lam_ptr = lam.data_ptr<double>();
  double* chosen_ptr = chosen.data_ptr<double>();
  const int64_t pixels = height * width;
  at::parallel_for(0, num, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      chosen_ptr[i] = glcae_image(src + i * pixels, static_cast<int>(height),
                                  static_cast<int>(width), clip_ptr[i], grid_ptr[i], lam_ptr,
                                  lam.numel(), static_cast<int>(levels), white, dst + i * pixels);
    }
  });
  return {out, chosen};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "Fused CPU forward pass of mmlesion's GLCAE (inference path).";
  m.def("glcae_forward", &glcae_forward, "GLCAE of (N, H, W) float32 images on the CPU",
        pybind11::arg("images"), pybind11::arg("clip_limit"), pybind11::arg("grid_size"),
        pybind11::arg("lam_candidates"), pybind11::arg("levels"),
        pybind11::arg("intensity_max") = pybind11::none(),
        // Pure tensor work: other Python threads (data loaders) may run meanwhile.
        pybind11::call_guard<pybind11::gil_scoped_release>());
}
