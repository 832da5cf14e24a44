"""The local web page of `gpt.py --serve`: an HTTP server streaming generations and posters."""
