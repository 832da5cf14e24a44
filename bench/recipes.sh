#!/usr/bin/env bash
# The recipes of docs/recipes.md at a small scale (2 CPU minutes of training each), on the public corpora.
#   bash bench/recipes.sh [WORK_DIR]     (default /tmp/moviegpt-recipes; needs ../shared/data; about 20 minutes)
set -x
M="$(cd "$(dirname "$0")/.." && pwd)"; D="$M/../shared/data"; export WANDB_MODE=disabled
[ -d "$D" ] || { echo "skipping: $D not found (the shared corpora)"; exit 0; }
mkdir -p "${1:-/tmp/moviegpt-recipes}" && cd "${1:-/tmp/moviegpt-recipes}"
# 0 the quick start as the README writes it (3 minutes on the shipped dataset/simple_movies.txt), then the same
#   title at three seeds and two other titles at one
python $M/gpt.py --preset fast --epochs 100 --max_minutes 3 --out_dir runs/quickstart --wandb disabled --title "The Lonely Miner" 2>/dev/null | grep -v "^step" | tail -5
for seed in 1 2 3; do python $M/gpt.py --checkpoint runs/quickstart/best.pt --title "The Moon Baker" --seed $seed --disable-typewriter; done
for title in "The Last Pirate" "Robin the Wizard"; do python $M/gpt.py --checkpoint runs/quickstart/best.pt --title "$title" --seed 1 --disable-typewriter; done
# 1 Letterboxd
python $M/extractor.py --input $D/raw/letterboxd_shaped_movies.csv --output letterboxd.txt --shuffle
python $M/gpt.py --training_data letterboxd.txt --preset fast --epochs 1000 --max_minutes 2 --out_dir runs/letterboxd --wandb disabled --prompt "" --max_new_tokens 1 2>/dev/null | grep -v "^step" | tail -3
python $M/gpt.py --checkpoint runs/letterboxd/best.pt --title "The Moon Baker" --poster --temperature 0.8 --top_k 20 --seed 1
printf ':title Night Train to Lisbon\n:poster\n' | python $M/gpt.py --checkpoint runs/letterboxd/best.pt --interactive --temperature 0.8 --seed 2
# 2 reviews
python $M/extractor.py --input $D/raw/my_min_gpt_chinese_reviews.csv --output reviews.txt --template "{sentiment}：{review}" --record-end "<END>" --value sentiment=1:好看 --value sentiment=0:难看 --shuffle
python $M/gpt.py --training_data reviews.txt --preset fast --epochs 1000 --max_minutes 2 --out_dir runs/reviews --wandb disabled --prompt "" --max_new_tokens 1 2>/dev/null | grep -v "^step" | tail -3
python $M/gpt.py --checkpoint runs/reviews/best.pt --prompt "好看：" --num_samples 3 --stop "<END>" --temperature 0.8 --seed 3 --disable-typewriter
python $M/gpt.py --checkpoint runs/reviews/best.pt --prompt "难看：" --num_samples 3 --stop "<END>" --temperature 0.8 --seed 3 --disable-typewriter
# 3 a play
python $M/gpt.py --training_data $D/tinyshakespeare.txt --preset fast --epochs 1000 --max_minutes 2 --out_dir runs/shakespeare --wandb disabled --prompt "" --max_new_tokens 1 2>/dev/null | grep -v "^step" | tail -3
printf 'ROMEO:\n:set temperature 0.7\nJULIET:\n' | python $M/gpt.py --checkpoint runs/shakespeare/best.pt --interactive --max_new_tokens 200 --seed 4
# 4 words
python $M/gpt.py --training_data $D/movielens_imdb_plots_descriptions.txt --tokenizer word --preset fast --epochs 1000 --max_minutes 2 --out_dir runs/words --wandb disabled --prompt "" --max_new_tokens 1 2>/dev/null | grep -v "^step" | tail -3
P="The description of the movie named 'The Last Heist' is:"
for mode in greedy beam sample; do python $M/gpt.py --checkpoint runs/words/best.pt --prompt "$P" --decode $mode --num_beams 4 --max_new_tokens 40 --temperature 0.8 --seed 5 --disable-typewriter; done
# 5 bigram vs GPT on the shipped handwritten sample
python $M/gpt.py --preset fast --epochs 100 --max_minutes 3 --out_dir runs/sample_fast --wandb disabled --prompt "" --max_new_tokens 1 --training_data $M/dataset/sample_movie_descriptions.txt 2>/dev/null | grep -v "^step" | tail -2
python $M/simple_bigram.py --compare runs/sample_fast/best.pt --out_dir runs/bigram_sample --wandb disabled 2>/dev/null | tail -5
# 6 long run
python $M/gpt.py --training_data $D/tinyshakespeare.txt --preset fast --max_iters 400 --out_dir runs/long --wandb disabled --prompt "" --max_new_tokens 1 --checkpoint_every_steps 50 > long.log 2>/dev/null &
PID=$!; sleep 25; kill -INT $PID; wait $PID; echo "exit code $?"; grep -v "^step" long.log | tail -3
python $M/gpt.py --resume runs/long --wandb disabled --prompt "" --max_new_tokens 1 2>/dev/null | grep -v "^step" | tail -3
torchrun --standalone --nproc_per_node=2 $M/gpt.py --training_data $D/tinyshakespeare.txt --preset fast --batch_size 6 --max_iters 200 --out_dir runs/long_ddp --wandb disabled --prompt "ROMEO:" --max_new_tokens 100 2>/dev/null | grep -v "^step" | tail -5
