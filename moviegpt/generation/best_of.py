"""best_of: K plots sampled for a title, and the one the title explains best kept, scored by the bits its title
saves: log2 p(plot | title) - log2 p(plot | the record without its title), over the whole plot (docs/generation.md
says why per plot and not per character)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from moviegpt.likelihood import continuation_losses
from moviegpt.models import LanguageModel
from moviegpt.tokenizer import Tokenizer


@dataclass(frozen=True)
class Candidate:
    text: str
    bits: float  # log2 p(text | title) - log2 p(text | no title): how much the title explains the text


@dataclass(frozen=True)
class Generated:
    """One result: its text and, with best_of, every candidate it was chosen from, best first (the first is it)."""

    text: str
    candidates: tuple[Candidate, ...] = ()


def title_bits(
    model: LanguageModel, tokenizer: Tokenizer, prompt: str, unconditional: str, texts: list[str]
) -> list[float]:
    """For each text, the bits the title saves: how much likelier it is after `prompt` than after `unconditional`."""
    with_title, without = tokenizer.encode_array(prompt), tokenizer.encode_array(unconditional)
    pairs = [(p, tokenizer.encode_array(text)) for text in texts for p in (with_title, without)]
    nll = continuation_losses(model, pairs, next(model.parameters()).device).reshape(len(texts), 2)
    return [float(b) for b in (nll[:, 1] - nll[:, 0]) / math.log(2)]


def choose(texts: list[str], bits: list[float], best_of: int) -> list[Generated]:
    """Texts in groups of best_of (row r of the batch is in group r // best_of): the best of each, with its group."""
    results = []
    for first in range(0, len(texts), best_of):
        group = [Candidate(t, b) for t, b in zip(texts[first : first + best_of], bits[first : first + best_of])]
        order = np.argsort([-c.bits for c in group], kind="stable")
        ranked = tuple(group[i] for i in order)
        results.append(Generated(ranked[0].text, ranked))
    return results


def describe_candidates(result: Generated) -> str:
    """The lines saved below a best_of result: its score, then the other candidates with theirs, as comments."""
    if not result.candidates:
        return ""
    chosen, *others = result.candidates
    lines = [
        f"# best of {len(result.candidates)}: the title saves this plot {chosen.bits:+.1f} bits "
        "(log2 p(plot | title) - log2 p(plot | no title)); the other candidates, best first:"
    ]
    lines += [f"# [{c.bits:+.1f} bits] " + c.text.replace("\n", "\n#   ") for c in others]
    return "\n" + "\n".join(lines)
