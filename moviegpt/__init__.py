"""MovieGPT: train a character-level GPT on your own text and generate new text from it."""

__version__ = "0.1.0"
