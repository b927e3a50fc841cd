#!/usr/bin/env bash
# Distributed training through mmengine: one process per GPU (NCCL), or on a machine without
# CUDA one process per NUM_PROCESSES on the CPU (gloo; see mmlesion/utils/distributed.py):
#   bash tools/dist_train.sh CONFIG NUM_PROCESSES [tools/train.py options]
# torchrun comes from the Python running mmlesion: $PYTHON, else .venv/bin/python, else python3.
set -euo pipefail
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
PYTHONPATH="$ROOT":${PYTHONPATH:-} \
"$PYTHON" -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
