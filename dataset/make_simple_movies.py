"""Write dataset/simple_movies.txt: movies from a small grammar written by us, simple enough for 3 CPU minutes.

Like TinyStories, the text keeps to a small vocabulary and a few sentence shapes, so a character model small
enough for a laptop can learn to spell and to end its record within minutes. It is a demonstration corpus: the
model learns this grammar, not the world's movies. Run `python dataset/make_simple_movies.py` to regenerate the file
(the same seed gives the same bytes; tests check the shipped file against it).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moviegpt.cli.arguments import OneLineParser  # noqa: E402
from moviegpt.files import atomic_write  # noqa: E402
from moviegpt.records import format_record  # noqa: E402

OUT = Path(__file__).resolve().parent / "simple_movies.txt"
MAX_COUNT = 5000  # well below the grammar's distinct titles, so that drawing unique ones always ends


def words(text: str) -> tuple[str, ...]:
    """The words of a block of text."""
    return tuple(text.split())


def phrases(text: str) -> tuple[str, ...]:
    """The phrases of a block of text, separated by semicolons."""
    return tuple(" ".join(phrase.split()) for phrase in text.split(";"))


ROLES = words(
    """
    baker sailor farmer painter teacher doctor pilot thief knight witch singer soldier fisher tailor miner hunter
    dancer writer nurse driver guard cook clown detective gardener student ranger jester robot ghost wizard
    shepherd boxer mechanic librarian astronaut pirate spy judge drummer magician mayor inventor beekeeper
    carpenter firefighter poet potter sculptor orphan
    """
)
ADJECTIVES = words(
    """
    young old shy brave lonely clever stubborn tired kind angry quiet proud poor rich lazy humble clumsy curious
    gentle wild sad cheerful retired blind famous forgotten nervous foolish wise small
    """
)
THINGS = words(
    """
    moon river mountain forest lighthouse garden island castle bridge desert ocean city village tower sea valley
    cave lake north jungle palace harbor circus museum stars
    """
)
PLACES = phrases(
    """
    a small village by the sea; a city that never sleeps; a quiet town in the mountains;
    a farm at the edge of the forest; a kingdom under the snow; a busy harbor; a fishing town lost in the fog;
    a school for young witches; an old house on a hill; a station on the moon; a town with no music;
    a desert full of thieves; a forest where the trees can talk; a city under the ocean; a castle in the clouds;
    a circus that travels by night; a village where it always rains; a great city of glass;
    a tiny village with one tree; a hotel that nobody leaves
    """
)
EVENTS = phrases(
    """
    a storm destroys their home; their little brother goes missing; a strange letter arrives at their door;
    the river floods the village; a dragon wakes up under the mountain; their best friend is sent to prison;
    the king falls ill; an old map falls out of a book; the last train leaves without them;
    a stranger steals their family's gold; the lights of the city go out; a talking cat asks them for help;
    their father loses the farm; the school is going to close; a giant wave hits the harbor;
    their mother disappears in the night; a star falls into their garden;
    the queen orders every song to be burned; an army marches on the city; a fire burns down the old mill
    """
)
GOALS = phrases(
    """
    find the missing children; save the village; bring the stolen gold home; win the great race;
    climb the highest mountain; open a bakery; stop the war; find a way home; learn the truth about their mother;
    win back their old love; protect the last dragon; catch the thief; rebuild the old bridge;
    sing in the great hall; fix the broken clock; cross the desert; open the locked door; keep a dangerous secret;
    escape from the castle; find the hidden treasure; wake the sleeping king; bring back the music;
    find their real family; win the heart of the town; tell the world the truth
    """
)
DEADLINES = phrases(
    """
    the winter comes; the sun goes down; the king dies; the river rises; the last train leaves; the festival begins;
    the night is over; the storm reaches the coast; the war begins; it is too late; the moon is full; the snow melts
    """
)
ALLIES = phrases(
    """
    a talking dog; an old fisher who knows the sea; a girl who can read the stars; a lost robot; a kind witch;
    a clumsy knight; a singing ghost; a boy with a broken arm; a retired spy; a cook who never speaks;
    a clever old goat; a band of street musicians; a friendly giant; a little bird; their grumpy grandfather
    """
)
ENEMIES = phrases(
    """
    a cruel king; a greedy mayor; a jealous sister; an army of thieves; a dark wizard; a powerful family;
    an angry giant; a corrupt judge; the captain of the guard; a pack of wolves; a rich man with a secret;
    an old enemy from their past
    """
)
LESSONS = phrases(
    """
    home is the people you love; nobody can win alone; the truth is worth the pain; every ending is a new beginning;
    courage is not the same as being strong; a family can be found as well as born;
    kindness is the bravest thing of all; the past cannot be changed; fear is only a door;
    small things can change the world
    """
)
NAMES = words(
    """
    Sam Alex Robin Kim Charlie Jamie Taylor Jordan Morgan Casey Riley Quinn Jesse Frankie Billie Avery
    """
)


def article(word: str) -> str:
    """'a' or 'an' before the word."""
    return ("an " if word[0] in "aeiou" else "a ") + word


def capital(text: str) -> str:
    """The text with its first letter in upper case."""
    return text[0].upper() + text[1:]


def hero(rng: random.Random) -> dict[str, str]:
    """A main character (always "they": a small model cannot yet keep a he or a she across sentences)."""
    return {
        "role": rng.choice(ROLES),
        "adjective": rng.choice(ADJECTIVES),
        "name": rng.choice(NAMES),
        "thing": rng.choice(THINGS),
        "lesson": rng.choice(LESSONS),
    }


def title(h: dict[str, str], rng: random.Random) -> str:
    """A title built from the hero: its role, adjective, name or place come back in the plot."""
    shapes = (
        "The {Thing} {Role}",
        "The {Adjective} {Role}",
        "The {Role} and the {Thing}",
        "The Last {Role}",
        "The {Role} Who Loved the {Thing}",
        "{Name} the {Role}",
        "The {Role} of the {Thing}",
    )
    caps = {key.capitalize(): value.title() for key, value in h.items()}
    return rng.choice(shapes).format(**caps)


def plot(h: dict[str, str], title: str, rng: random.Random) -> str:
    """Three to five sentences about the hero. The first says the title again and names the hero's role, as a blurb
    does ("The Moon Baker is the story of a shy baker named Sam."): where the title's words are used is the same in
    every plot, so a small model learns within minutes to read the title and write its movie."""
    described = f"{article(h['adjective'])} {h['role']}"
    name, role = h["name"], h["role"]
    goal, event, place = rng.choice(GOALS), rng.choice(EVENTS), rng.choice(PLACES)
    ally, enemy, thing, lesson = rng.choice(ALLIES), rng.choice(ENEMIES), h["thing"], h["lesson"]
    openings = (
        f"When {event}, {name} must {goal} before {rng.choice(DEADLINES)}.",
        f"In {place}, the {role} dreams of a different life, and one day they set out to {goal}.",
        f"{name} lives in {place}, until {event}.",
        f"The {role} has never left {place}.",
        f"After {event}, {name} has one chance to {goal}.",
        f"Nobody in {place} believes that the {role} can {goal}, but {name} will try.",
    )
    to_the_thing = (
        f"With the help of {ally}, they travel to the {thing}.",
        f"They are afraid of the {thing}, but they have no choice.",
        f"On the road to the {thing}, they meet {ally}.",
        f"Every night they go to the {thing} and wait.",
    )
    middles = (
        f"But {enemy} will do anything to stop them.",
        "Now they have only one night left.",
        f"Soon they find out that {enemy} is behind it all.",
        f"But first they must face {enemy}.",
    )
    endings = (
        "What they find there will change their life forever.",
        f"Together they learn that {lesson}.",
        f"On the way, they learn that {lesson}.",
        "It is a journey they will never forget.",
        "But the hardest part is to forgive themselves.",
        f"In the end, they understand that {lesson}.",
        "And for the first time, they are not alone.",
    )
    sentences = [f"{title} is the story of {described} named {name}.", rng.choice(openings), rng.choice(to_the_thing)]
    if rng.random() < 0.5:
        sentences.append(rng.choice(middles))
    if rng.random() < 0.6:
        sentences.append(rng.choice(endings))
    return " ".join(sentences)


def movies(count: int, seed: int) -> str:
    """`count` movies with unique titles in the training format."""
    rng, seen, records = random.Random(seed), set(), []
    while len(records) < count:
        h = hero(rng)
        name = title(h, rng)
        if name in seen:
            continue
        seen.add(name)
        records.append(format_record(name, plot(h, name, rng)))
    return "".join(records)


def main() -> None:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help=f"movies to write, 1 to {MAX_COUNT}")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, default=OUT)
    args = parser.parse_args()
    if not 1 <= args.count <= MAX_COUNT:
        parser.error(f"--count must be between 1 and {MAX_COUNT} (the grammar has about 7,000 distinct titles)")
    text = movies(args.count, args.seed).encode("utf-8")
    atomic_write(args.output, lambda f: f.write(text))


if __name__ == "__main__":
    main()
