"""The bigram baseline through the same pipeline as gpt.py: `python simple_bigram.py --training_data FILE` trains,
`--checkpoint FILE` generates, `--compare GPT_CHECKPOINT` compares it with a GPT."""

from moviegpt.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main(model="bigram"))
