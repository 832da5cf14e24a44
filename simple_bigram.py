"""The bigram baseline through the same pipeline as gpt.py: `python simple_bigram.py --training_data FILE` trains,
`--checkpoint FILE` generates, `--compare GPT_CHECKPOINT` compares it with a GPT."""

try:  # importing torch takes a second or two: Ctrl-C then is an interruption, not a traceback
    from moviegpt.cli.main import main
except KeyboardInterrupt:
    raise SystemExit(130) from None

if __name__ == "__main__":
    raise SystemExit(main(model="bigram"))
