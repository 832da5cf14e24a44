"""Turn Letterboxd's movies.csv (or another catalogue CSV) into MovieGPT's training format.

python extractor.py --input movies.csv --output dataset/movie_descriptions.txt --small 100000
"""

from moviegpt.cli.extract import main

if __name__ == "__main__":
    raise SystemExit(main())
