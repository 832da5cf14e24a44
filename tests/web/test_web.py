"""gpt.py --serve: the page, streamed generations (several at once), bad settings, and a real browser."""

import json
import os
import shutil
import threading
import urllib.request
from urllib.parse import urlencode

import pytest

from moviegpt.checkpoint import load_checkpoint, model_from_checkpoint
from moviegpt.generation.config import GenerationConfig
from moviegpt.records import RecordFormat
from moviegpt.web.server import WebGenerator, start_server


@pytest.fixture
def server(tmp_path, tiny_checkpoint):
    """The web server on a free port of 127.0.0.1, serving the tiny checkpoint; yields its base URL."""
    model, tokenizer = model_from_checkpoint(load_checkpoint(tiny_checkpoint))
    generator = WebGenerator(
        model.eval(),
        tokenizer,
        RecordFormat(),
        GenerationConfig(max_new_tokens=60, stop=["END_OF_MOVIE"]),
        tmp_path / "posters",
        lambda config: f"credit · temperature {config.temperature:g}",
        "tiny",
    )
    http = start_server(generator, "127.0.0.1", 0)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_address[1]}"
    http.shutdown()
    http.server_close()


def events(base: str, **params) -> list[tuple[str, object]]:
    """The server-sent events of one /generate request, in order."""
    with urllib.request.urlopen(f"{base}/generate?{urlencode(params)}", timeout=60) as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        body = response.read().decode("utf-8")
    parsed = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        parsed.append((lines["event"], json.loads(lines["data"])))
    return parsed


def test_page_and_a_streamed_generation_with_its_poster(server):
    with urllib.request.urlopen(server + "/", timeout=10) as response:
        page = response.read().decode()
    assert 'id="generate"' in page and "EventSource" in page
    received = events(server, title="Tea for the Dragon", temperature="0.8", top_k="5", max_new_tokens="40", seed="1")
    kinds = [kind for kind, _ in received]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"text"}
    done = received[-1][1]
    assert "".join(data for kind, data in received if kind == "text") == done["text"]
    assert done["text"].startswith("The description of the movie named 'Tea for the Dragon' is:")
    with urllib.request.urlopen(server + done["poster"], timeout=10) as response:
        assert response.read()[:8] == b"\x89PNG\r\n\x1a\n"


def test_two_requests_at_once_do_not_mix(server):
    requests = {
        "a": dict(title="Paper Moon Harbor", seed="11", max_new_tokens="50"),
        "b": dict(prompt="An old dragon", seed="22", max_new_tokens="50"),
    }
    alone = {name: events(server, **params)[-1][1]["text"] for name, params in requests.items()}
    together = {}
    threads = [
        threading.Thread(target=lambda n=name, p=params: together.__setitem__(n, events(server, **p)))
        for name, params in requests.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for name in requests:
        streamed = "".join(data for kind, data in together[name] if kind == "text")
        assert streamed == together[name][-1][1]["text"] == alone[name]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"title": "x", "temperature": "hot"}, "temperature expected a float, got 'hot'"),
        ({"title": "x", "top_p": "5"}, "top_p must be in (0, 1], got 5.0"),
        ({"title": "x", "temperature": "nan"}, "temperature must be a finite number"),
        ({"title": "x", "temperature": "0"}, "temperature"),
        ({"title": "x", "max_new_tokens": "100000"}, "between 1 and 60"),
        ({"title": "x", "top_p": "-1"}, "top_p"),
        ({"title": "Zebra"}, "never seen these characters: 'Z'"),
        ({"title": "Two\nLines"}, "title must be one line"),  # the CLI refuses it too
        ({"title": "x", "seed": "-1"}, "seed must be"),  # the CLI refuses it too: one declaration, one check
        ({"title": "x", "seed": "99999999999999999999"}, "seed must be"),  # overflowed in the server's console
    ],
)
def test_bad_settings_get_a_message_and_the_server_goes_on(server, params, message):
    ((kind, text),) = events(server, **params)
    assert kind == "failed" and message in text
    assert events(server, title="Tea", max_new_tokens="5", seed="3")[-1][0] == "done"


def test_best_of_is_a_field_and_the_candidates_come_back_with_their_scores(server):
    with urllib.request.urlopen(server + "/", timeout=10) as response:
        assert 'id="best_of"' in response.read().decode()
    received = events(server, title="Tea", best_of="3", max_new_tokens="20", seed="2")
    kind, done = received[-1]
    assert kind == "done" and len(done["candidates"]) == 3
    assert done["text"].endswith(done["candidates"][0]["text"])  # the chosen one is the best scored
    assert [c["bits"] for c in done["candidates"]] == sorted((c["bits"] for c in done["candidates"]), reverse=True)
    assert "".join(data for kind, data in received if kind == "text") == done["text"]
    ((kind, text),) = events(server, prompt="An old", best_of="2")
    assert kind == "failed" and "best_of needs a title" in text


def test_a_tiny_temperature_generates_and_the_seed_comes_back(server):
    kind, result = events(server, title="Tea", temperature="1e-300", max_new_tokens="5", seed="11")[-1]
    assert kind == "done" and result["seed"] == 11


def test_posters_outside_the_folder_are_not_served(server):
    for path in ("/posters/../../etc/passwd", "/posters/%2e%2e%2fsecret.png", "/nothing"):
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(server + path, timeout=10)
        assert error.value.code == 404


def browser():
    """A headless Chromium driven by Selenium, or a skip saying what is missing."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e .[web])")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("no chromium/chromedriver on this machine (.ci/run installs Debian's chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,1500"):
        options.add_argument(flag)
    return webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path), options=options)


def test_in_a_real_browser(server):
    driver = browser()
    try:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        driver.get(server + "/")
        driver.find_element(By.ID, "title").send_keys("Tea for the Dragon")
        driver.find_element(By.ID, "generate").click()
        WebDriverWait(driver, 60).until(lambda d: d.find_element(By.ID, "poster").get_attribute("hidden") is None)
        text = driver.find_element(By.ID, "output").text
        assert text.startswith("The description of the movie named 'Tea for the Dragon' is:")
        poster = driver.find_element(By.ID, "poster")
        assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", poster) == 800
        assert "Tea for the Dragon" in driver.find_element(By.ID, "history").text
        if os.environ.get("MOVIEGPT_SCREENSHOT"):  # the README's screenshot comes from this test
            driver.save_screenshot(os.environ["MOVIEGPT_SCREENSHOT"])
    finally:
        driver.quit()
