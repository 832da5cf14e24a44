"""A screenshot of the web page with a real model: `gpt.py --serve` on a free port, headless Chromium types a title,
presses Generate and waits for the movie and its poster.

    python bench/screenshot.py runs/latest/best.pt --title "The Lonely Miner" --out bench/figures/web_page.png
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--title", default="The Lonely Miner")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "figures" / "web_page.png")
    args = parser.parse_args()
    port, posters = free_port(), tempfile.mkdtemp()
    server = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "gpt.py"),
            "--checkpoint",
            str(args.checkpoint),
            "--serve",
            "--port",
            str(port),
            "--posters_dir",
            posters,
        ],  # fmt: skip
    )
    options = webdriver.ChromeOptions()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1100,1400"):
        options.add_argument(flag)
    try:
        time.sleep(6)
        browser = webdriver.Chrome(options=options)
        browser.get(f"http://127.0.0.1:{port}/")
        browser.find_element(By.ID, "title").send_keys(args.title)
        browser.find_element(By.ID, "generate").click()
        WebDriverWait(browser, 120).until(expected_conditions.visibility_of_element_located((By.ID, "poster")))
        time.sleep(1)
        browser.save_screenshot(str(args.out))
        browser.quit()
    finally:
        server.terminate()
    print(f"screenshot -> {args.out}")


if __name__ == "__main__":
    main()
