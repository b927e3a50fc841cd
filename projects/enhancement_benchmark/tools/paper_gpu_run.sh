#!/usr/bin/env bash
# The paper-size run on one lent GPU machine (Python 3.12 and a CUDA torch, no registry access):
# install the carried wheels, benchmark the enhancement ops on the GPU, then the main job with
# the paper-size models (run_demo --preset paper_gpu: synthetic data generated there at 512×512,
# R50-FPN detector, ResNet-18 enhancer, identity / fixed / learned evaluation, timings) written
# as a synthetic_benchmark.json record. Results go to OUT_DIR (at most 8 files).
#
#   bash projects/enhancement_benchmark/tools/paper_gpu_run.sh OUT_DIR [NUM_PATIENTS]
#
# The wheels: ../shared/gpu-wheels/README.md (mmcv with CUDA ops, mmengine, mmdet, pycocotools,
# ...) in .whl/ of the checkout. Each step has its own time limit and failing steps do not stop
# the later ones, so that one try on a lent machine brings back everything that worked.
set -u
out=${1:?usage: paper_gpu_run.sh OUT_DIR [NUM_PATIENTS]}
num_patients=${2:-400}
mkdir -p "$out"
log="$out/run.log"

python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl >>"$log" 2>&1
export PYTHONPATH=/tmp/site:$PWD
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    python3 -c "import torch, mmcv, mmdet, mmengine, numpy, cv2, mmcv.ops, mmlesion
print('torch', torch.__version__, 'mmcv', mmcv.__version__, 'mmdet', mmdet.__version__,
      'mmengine', mmengine.__version__, 'numpy', numpy.__version__, 'cv2', cv2.__version__)"
} >>"$log" 2>&1

echo "== enhancement benchmark $(date +%T)" >>"$log"
timeout 75 python3 projects/enhancement_benchmark/tools/benchmark_enhancement.py --skip-baseline --repeats 5 \
    --cpu-batch 16 --cuda-batch 64 >"$out/benchmark_enhancement.md" 2>>"$log"

echo "== paper-size main job $(date +%T)" >>"$log"
timeout "${MAIN_JOB_TIMEOUT_S:-470}" python3 projects/enhancement_benchmark/tools/synthetic_benchmark.py \
    --preset paper_gpu --seeds 0 --no-ablations --num-patients "$num_patients" \
    --out "$out/gpu_benchmark.json" >"$out/main_job.log" 2>&1
echo "main job exit $? $(date +%T)" >>"$log"

for f in results.md results.json enhancer_curves.png enhancement_examples.png; do
    cp "work_dirs/paper_gpu/$f" "$out/" 2>>"$log"
done
exit 0
