"""MovieGPT: `python gpt.py --training_data FILE` trains; `python gpt.py --checkpoint FILE` generates."""

from moviegpt.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
