#!/usr/bin/env bash
# GPU checks for a machine with CUDA (no GPU was lent when this was written; see docs/distributed.md): training in
# bf16 and fp16 with and without torch.compile, resume on CUDA and on the CPU, KV-cache generation on CUDA, and
# torchrun over NCCL on every GPU present (one process per GPU, one GPU too); then, where movies.txt is found ($MOVIES,
# default ../shared/data/movies.txt), the original preset for 60 seconds on it and bench/gpu_speed.py on that run
# (tokens/s, MFU, generation chars/s at batch 1 and 16). One line per check; the first failure stops the script.
#   bash bench/gpu_check.sh            (MOVIES=path/to/movies.txt bash bench/gpu_check.sh where ../shared is not beside)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
train=(python gpt.py --training_data dataset/simple_movies.txt --preset fast --wandb disabled --prompt ""
       --max_new_tokens 40 --disable-typewriter --outputs_dir "$work/outputs")
check() { local name=$1; shift; if "$@" >"$work/log" 2>&1; then echo "ok   $name: $({ grep -E '^done:' "$work/log" || grep -E '^saved to' "$work/log"; } | tail -1)";
          else echo "FAIL $name"; tail -20 "$work/log"; exit 1; fi; }
python -c "import torch; print('torch', torch.__version__, '|', torch.cuda.get_device_name(0), '| GPUs:', torch.cuda.device_count())"
for dtype in bfloat16 float16; do
  for compile in --compile --no-compile; do
    check "train $dtype $compile" "${train[@]}" --device cuda --dtype "$dtype" "$compile" --max_iters 200 \
      --out_dir "$work/run-$dtype$compile"
  done
done
check "resume on CUDA" "${train[@]}" --device cuda --resume "$work/run-bfloat16--no-compile" --max_iters 300
mkdir "$work/on-cpu" && cp "$work/run-float16--compile/last.pt" "$work/on-cpu/epoch_001.pt"
check "resume a CUDA run on the CPU" "${train[@]}" --device cpu --dtype float32 --no-compile --resume "$work/on-cpu" \
  --max_iters 220
check "generate on CUDA (KV cache)" python gpt.py --checkpoint "$work/run-bfloat16--compile/last.pt" --device cuda \
  --title "The Moon Baker" --max_new_tokens 300 --disable-typewriter --outputs_dir "$work/outputs"
gpus=$(python -c "import torch; print(torch.cuda.device_count())")
check "torchrun over NCCL, $gpus process(es)" torchrun --standalone --nproc_per_node="$gpus" "${train[@]:1}" \
  --device cuda --max_iters 200 --out_dir "$work/ddp"
movies=${MOVIES:-../shared/data/movies.txt}
if [ -f "$movies" ]; then
  check "original preset, 60 s on movies.txt" "${train[@]}" --training_data "$movies" --preset original --device cuda \
    --epochs 1000 --max_minutes 1 --out_dir "$work/original"
  python bench/gpu_speed.py "$work/original"
else
  echo "skip the original preset's speed: $movies not found"
fi
