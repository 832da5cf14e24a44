"""Training data: reading text files and URLs, the token cache, train/validation splits, CSV extraction."""
