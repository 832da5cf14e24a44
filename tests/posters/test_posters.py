"""Posters: valid PNGs, deterministic art, text that always fits, safe file names, and the commands."""

import io

from PIL import Image

from moviegpt.cli.main import main
from moviegpt.posters.fonts import FontChain
from moviegpt.posters.render import SIZE, render_poster, save_poster
from moviegpt.records import Movie, parse_movies
from tests.helpers import TINY_TEXT, run_gpt

MOVIE = Movie("The Moon Baker", "A baker on the moon bakes bread for astronauts. Then the oven breaks.")


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_poster_is_a_2_by_3_png(tmp_path):
    path = save_poster(render_poster(MOVIE, "credit")[0], MOVIE.title, tmp_path / "posters")
    assert path == tmp_path / "posters" / "the-moon-baker.png"
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == SIZE == (800, 1200)


def test_the_same_title_gives_the_same_pixels_and_another_title_other_art():
    first, again = render_poster(MOVIE, "credit")[0], render_poster(MOVIE, "credit")[0]
    assert first.tobytes() == again.tobytes()
    other = render_poster(Movie("The Sun Baker", MOVIE.description), "credit")[0]
    assert other.getpixel((5, 5)) != first.getpixel((5, 5))


def test_long_title_and_3000_character_description_fit_inside():
    sentence = "An unusually verbose narrator describes every room of the lighthouse in loving detail. "
    movie = Movie(
        "The Extraordinarily Long and Winding Chronicle of the Lighthouse Keeper's Seventh Daughter "
        "Who Sailed Beyond the Edge of Every Known Map",
        (sentence * 40)[:3000],
    )
    _, boxes = render_poster(movie, "written by MovieGPT · a very long credit line " * 3)
    for name, (left, top, right, bottom) in boxes.items():
        assert 0 <= left <= right <= SIZE[0] and 0 <= top <= bottom <= SIZE[1], name
    order = ["title", "tagline", "description", "credit"]
    for upper, lower in zip(order, order[1:]):
        assert boxes[upper][3] <= boxes[lower][1], (upper, lower)


def test_titles_never_write_outside_the_posters_folder(tmp_path):
    image = render_poster(MOVIE, "credit")[0]
    folder = tmp_path / "posters"
    paths = [save_poster(image, title, folder) for title in ("../../escape", "a/b/../c", "..", "/etc/passwd", "")]
    assert all(p.parent == folder for p in paths) and len(set(paths)) == len(paths)
    assert [p.name for p in paths[:3]] == ["escape.png", "a-b-c.png", "untitled.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["posters"]


def test_an_existing_poster_is_never_overwritten(tmp_path):
    image = render_poster(MOVIE, "credit")[0]
    first = save_poster(image, MOVIE.title, tmp_path)
    first.write_bytes(b"precious")
    second = save_poster(image, MOVIE.title, tmp_path)
    assert first.read_bytes() == b"precious" and second.name == "the-moon-baker-2.png"


def test_accents_render_with_the_bundled_font_and_chinese_never_crashes():
    regular = FontChain("regular")
    assert all(regular.font_path(ch) == regular.primary for ch in "Amélie naïve Ångström Œuvre")
    movie = Movie("这部电影很好看 Amélie", "这部电影很好看，我很喜欢。演员的表演非常出色！")
    image, boxes = render_poster(movie, "credit")
    assert image.size == SIZE and boxes["description"][3] <= SIZE[1]


def test_movies_are_parsed_from_generated_text():
    movies = parse_movies(
        TINY_TEXT[: TINY_TEXT.index("END_OF_MOVIE", 200) + 13] + "The description of the movie "
        "named 'Cut Short' is:\nIt never ended"
    )
    assert [m.title for m in movies] == ["Paper Moon Harbor", "Tea for the Dragon", "Cut Short"]
    assert movies[1].description.startswith("An old dragon") and movies[2].description == "It never ended"


def test_poster_commands(tmp_path, monkeypatch, capsys, tiny_checkpoint):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "generated.txt").write_text(TINY_TEXT[: len(TINY_TEXT) // 6], encoding="utf-8")  # two movies
    assert main(["--poster_from", "generated.txt"]) == 0
    assert sorted(p.name for p in (tmp_path / "posters").iterdir()) == [
        "paper-moon-harbor.png",
        "tea-for-the-dragon.png",
    ]
    assert (
        main(
            [
                "--checkpoint",
                str(tiny_checkpoint),
                "--title",
                "Paper Moon Harbor",
                "--poster",
                "--max_new_tokens",
                "30",
                "--disable-typewriter",
                "--posters_dir",
                "mine",
            ]
        )
        == 0
    )
    assert "poster saved to mine/paper-moon-harbor.png" in capsys.readouterr().out
    result = run_gpt(
        "--checkpoint",
        str(tiny_checkpoint),
        "--interactive",
        "--max_new_tokens",
        "20",
        "--posters_dir",
        "repl",
        cwd=tmp_path,
        stdin=":poster\n:title Tea for the Dragon\n:poster\n",
    )
    assert result.returncode == 0, result.stderr
    assert "error: nothing generated yet" in result.stdout
    assert "poster saved to repl/tea-for-the-dragon.png" in result.stdout
