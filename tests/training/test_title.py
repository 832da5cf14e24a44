"""Training that uses the title: windows at record starts, titles dropped from a share of them, and the measure of
how much a model uses its titles (`--evaluate`)."""

import json

import numpy as np
import pytest
import torch

from moviegpt.checkpoint import load_checkpoint
from moviegpt.cli.main import main
from moviegpt.data.dataset import TextDataset
from moviegpt.errors import UserError
from moviegpt.evaluation import spread, title_measures
from moviegpt.model import GPT, GPTConfig
from moviegpt.records import RecordFormat, format_record, parse_movies, plot_phrases
from moviegpt.tokenizer.char import CharTokenizer
from moviegpt.training.config import TrainConfig
from moviegpt.training.plot_weights import PlotWeights, copy_mask, plot_mask
from moviegpt.training.tracking import RunLogger
from moviegpt.training.trainer import Trainer
from tests.helpers import TINY_TEXT, copying_corpus, trained

FMT = RecordFormat()


@pytest.mark.parametrize("shuffled", [False, True])
def test_the_title_measures_see_a_model_that_copies_its_title(tmp_path, shuffled):
    model, tok = trained(copying_corpus(600, shuffled, seed=0), tmp_path)
    held_out = parse_movies(copying_corpus(200, shuffled, seed=1))
    measures = title_measures(model, tok, held_out, FMT, torch.device("cpu"))
    assert measures.movies == 200 and measures.candidates == 10
    if shuffled:  # the title says nothing about the plot: the measures stay at chance
        assert abs(measures.bits_saved) < 1 and 0.35 < measures.win_rate < 0.65 and measures.retrieval < 0.25
    else:
        assert measures.bits_saved > 10 and measures.win_rate > 0.95 and measures.retrieval > 0.9


def test_evaluate_reports_the_title_measures(tmp_path, capsys, tiny_checkpoint):
    (tmp_path / "movies.txt").write_text(TINY_TEXT, encoding="utf-8")
    assert main(["--checkpoint", str(tiny_checkpoint), "--evaluate", str(tmp_path / "movies.txt")]) == 0
    assert "title: the right title saves" in capsys.readouterr().out
    assert main(["--checkpoint", str(tiny_checkpoint), "--evaluate", str(tmp_path / "movies.txt"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["title"]["movies"] == 12 and report["title"]["candidates"] == 10
    (tmp_path / "plain.txt").write_text("no movies in here, only words. " * 20, encoding="utf-8")
    assert main(["--checkpoint", str(tiny_checkpoint), "--evaluate", str(tmp_path / "plain.txt"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] is None


def test_spread_takes_movies_from_the_whole_file():
    assert spread(list(range(10)), 3) == [0, 4, 9] and spread(list(range(10)), 0) == list(range(10))


def movie_data(text: str = TINY_TEXT * 4) -> tuple[TextDataset, CharTokenizer]:
    tok = CharTokenizer(text)
    return TextDataset.from_tokens(tok.encode_array(text), tok), tok


def test_record_windows_start_every_row_at_a_movie_and_drop_titles_from_a_share():
    data, tok = movie_data()
    generator = torch.Generator().manual_seed(0)
    x, y = data.get_batch("train", 64, 80, generator, windows="records", title_dropout=0.25)
    rows = [tok.decode(row.tolist()) for row in x]
    assert all(row.startswith(FMT.prefix) for row in rows)
    assert torch.equal(x[:, 1:], y[:, :-1])
    dropped = [row for row in rows if row.startswith(FMT.title_prompt(""))]
    assert 6 <= len(dropped) <= 28  # about a quarter of 64
    for row in dropped:  # the movie goes on as it was, without its title
        assert row.removeprefix(FMT.title_prompt("")).startswith(("A lighthouse keeper", "An old dragon"))


def test_mixed_windows_start_three_rows_in_four_at_a_movie():
    data, tok = movie_data()
    x, _ = data.get_batch("train", 200, 80, torch.Generator().manual_seed(0), windows="mixed", title_dropout=0.5)
    rows = [tok.decode(row.tolist()) for row in x]
    at_movie = [row for row in rows if row.startswith(FMT.prefix)]
    assert 120 <= len(at_movie) <= 175  # about three in four; the others start anywhere (and show plots ending)
    assert any(row.startswith(FMT.title_prompt("")) for row in at_movie)  # titles are dropped there only


def test_plot_phrases_are_the_names_and_places_inside_its_sentences():
    plot = "When Ana Ruiz moves to New York, she meets Tom. The city is big. Tom stays in Old Town-Hall."
    assert plot_phrases(plot) == ["Ana Ruiz", "New York", "Tom", "Old Town-Hall"]  # not "When", nor "The"
    assert plot_phrases("A quiet story without a single name.") == []


def test_pseudo_titles_replace_a_title_by_a_name_from_its_own_plot():
    named = format_record("Paper Moon", "A sailor meets Ana Ruiz in Lisbon and they sail after a map.")
    unnamed = format_record("Quiet Sea", "a keeper watches the waves all night long and sleeps all day long.")
    data, tok = movie_data((named + unnamed) * 8)
    x, y = data.get_batch("train", 64, 90, torch.Generator().manual_seed(0), windows="records", pseudo_titles=1.0)
    rows = [tok.decode(row.tolist()) for row in x]
    assert torch.equal(x[:, 1:], y[:, :-1])
    titles = {parse_movies(row)[0].title: parse_movies(row)[0].description for row in rows if parse_movies(row)}
    assert {"Ana Ruiz", "Lisbon"} <= set(titles) and "Paper Moon" not in titles  # each row picks one phrase
    assert titles["Lisbon"].startswith("A sailor meets Ana Ruiz in Lisbon")  # the plot goes on as it was
    assert "Quiet Sea" in titles  # a plot without a name keeps its title
    plain = data.get_batch("train", 64, 90, torch.Generator().manual_seed(0), windows="records")[0]
    assert any("Paper Moon" in tok.decode(row.tolist()) for row in plain)  # (and none is replaced without it)
    with pytest.raises(UserError, match="--pseudo_titles needs --windows records"):
        data.check_windows("anywhere", 0.0, pseudo_titles=0.5)


def test_a_record_cut_before_its_plot_keeps_its_title():
    data, tok = movie_data()
    head = tok.encode_array(FMT.title_prompt("Paper Moon"))
    ids = head[: len(head) - 2]  # the split ends inside "' is:\n": no plot to take a phrase from
    first = len(FMT.prefix)
    assert data.retitled(ids, 0, np.array([first, first + len("Paper Moon")]), 200, 0.5) is None


def test_record_windows_need_movies_and_title_dropout_needs_record_windows():
    data, _ = movie_data()
    data.check_windows("records", 0.1)
    with pytest.raises(UserError, match="--title_dropout needs --windows records"):
        data.check_windows("anywhere", 0.1)
    plain, _ = movie_data("just some words without records. " * 20)
    with pytest.raises(UserError, match="--windows records needs movie-format text"):
        plain.check_windows("records", 0.0)
    with pytest.raises(UserError, match="--plot_weight needs movie-format text"):
        plain.check_windows("anywhere", 0.0, plot_weight=2.0)
    data.check_windows("anywhere", 0.0, plot_weight=2.0)


END, NAMED = "\nEND_OF_MOVIE\n", "The description of the movie named 'Moon' is:\n"
UNNAMED = "The description of the movie named '' is:\n"  # a dropped title
PLOTS = "ght." + END + NAMED + "A baker." + END + UNNAMED + "A cook." + END + "The"
IN_PLOT = "ght." + "_" * len(END + NAMED) + "A baker." + "_" * len(END + UNNAMED) + "A cook." + "_" * len(END + "The")


def test_the_plot_weights_mark_the_plots_and_nothing_else():
    tok = CharTokenizer(PLOTS + "a plot with no mark in view")
    weights = PlotWeights(tok, 3.0)
    rows = torch.tensor([tok.encode(PLOTS), tok.encode("a plot with no mark in view " * 6)[: len(PLOTS)]])
    mask = plot_mask(rows, weights.suffix, weights.end)
    assert "".join(c if m else "_" for c, m in zip(PLOTS, mask[0].tolist())) == IN_PLOT
    assert mask[1].all()  # a window inside a long plot
    logits = torch.randn(2, len(PLOTS), tok.vocab_size)
    each = torch.nn.functional.cross_entropy(logits.flatten(0, 1), rows.flatten(), reduction="none").view_as(rows)
    w = 1 + 2 * mask.float()
    assert torch.allclose(weights.loss(logits, rows), (each * w).sum() / w.sum())
    assert torch.allclose(PlotWeights(tok, 1.0).loss(logits, rows), each.mean())


def plot_and_rest_losses(tmp_path, weight: float, steps: int = 80) -> tuple[float, float]:
    """A one-layer model trained with this plot weight: its mean loss on plot characters and on the rest."""
    text = TINY_TEXT * 4
    tok = CharTokenizer(text)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, context_length=64, n_embd=32, n_head=2, n_layer=1, dropout=0.0))
    config = TrainConfig(batch_size=8, lr=1e-2, max_iters=steps, epochs=1000, eval_iters=1, plot_weight=weight)
    data = TextDataset.from_tokens(tok.encode_array(text), tok)
    Trainer(model, data, config, torch.device("cpu"), torch.float32, RunLogger(tmp_path, "disabled", "t", {})).train()
    ids = torch.tensor([tok.encode(text[:1985])])
    with torch.no_grad():
        logits = torch.cat([model(ids[:, i : i + 64])[0] for i in range(0, 1984, 64)], dim=1)
    targets = torch.cat([ids[:, i + 1 : i + 65] for i in range(0, 1984, 64)], dim=1)
    each = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none")
    marks = PlotWeights(tok, weight)
    mask = plot_mask(targets, marks.suffix, marks.end).flatten()
    return each[mask].mean().item(), each[~mask].mean().item()


def test_training_with_the_plot_weighted_learns_the_plots_more_and_the_rest_less(tmp_path):
    (plot, rest), (weighted_plot, weighted_rest) = (plot_and_rest_losses(tmp_path / str(w), w) for w in (1.0, 5.0))
    assert weighted_plot < plot and weighted_rest > rest


def test_the_copy_mask_marks_plot_words_of_the_title_only():
    record = format_record("The Lonely Miner", "A miner lives alone. The MINER sings; the lonely end.")
    windows = [record, record[30:], "A miner with no title in view, miner." + " " * (len(record) - 37)]
    mask = copy_mask(windows)
    marked = "".join(c if m else " " for c, m in zip(record, mask[0].tolist()))
    assert marked.split() == ["miner", "MINER", "lonely"]  # in the plot; "alone" and "The" are not title words
    assert not mask[1].any() and not mask[2].any()  # the title cut off, or none in view: nothing to copy from
    tok = CharTokenizer(record)
    rows = torch.tensor([tok.encode(record)])
    logits = torch.randn(1, len(record), tok.vocab_size)
    each = torch.nn.functional.cross_entropy(logits[0], rows[0], reduction="none")
    w = 1 + 3 * mask[0].float()
    assert torch.allclose(PlotWeights(tok, 1.0, copy_weight=4.0).loss(logits, rows), (each * w).sum() / w.sum())


def test_copy_weight_and_pseudo_titles_are_refused_where_they_cannot_apply_and_saved_with_the_run(tmp_path):
    plain, _ = movie_data("just some words without records. " * 20)
    with pytest.raises(UserError, match="--copy_weight needs movie-format text"):
        plain.check_windows("anywhere", 0.0, copy_weight=3.0)
    (tmp_path / "movies.txt").write_text(TINY_TEXT, encoding="utf-8")
    argv = ["--training_data", str(tmp_path / "movies.txt"), "--preset", "tiny", "--max_iters", "2"]
    argv += ["--copy_weight", "3", "--out_dir", str(tmp_path / "run"), "--wandb", "disabled", "--prompt", ""]
    argv += ["--windows", "records", "--pseudo_titles", "0.5", "--max_new_tokens", "2"]
    assert main([*argv, "--outputs_dir", str(tmp_path / "out")]) == 0
    saved = load_checkpoint(tmp_path / "run" / "last.pt").train_args
    assert saved["copy_weight"] == 3.0 and saved["pseudo_titles"] == 0.5
