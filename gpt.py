"""MovieGPT: `python gpt.py --training_data FILE` trains; `python gpt.py --checkpoint FILE` generates."""

try:  # importing torch takes a second or two: Ctrl-C then is an interruption, not a traceback
    from moviegpt.cli.main import main
except KeyboardInterrupt:
    raise SystemExit(130) from None

if __name__ == "__main__":
    raise SystemExit(main())
