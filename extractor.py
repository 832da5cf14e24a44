"""Turn Letterboxd's movies.csv (or another catalogue CSV) into MovieGPT's training format.

python extractor.py --input movies.csv --output dataset/movie_descriptions.txt --small 100000
"""

try:  # importing torch takes a second or two: Ctrl-C then is an interruption, not a traceback
    from moviegpt.cli.extract import main
except KeyboardInterrupt:
    raise SystemExit(130) from None

if __name__ == "__main__":
    raise SystemExit(main())
