"""The command line: argument parsing, settings built from flags, and one module per command."""
