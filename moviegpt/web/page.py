"""The single page of `gpt.py --serve`: a form, text streamed over server-sent events, then the poster."""

from __future__ import annotations

import html
import json

from moviegpt.settings import Setting

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>MovieGPT</title>
<style>
 body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
 fieldset { border: 1px solid #ccc; border-radius: 6px; margin-bottom: 1rem; }
 label { display: inline-block; margin: 0.3rem 1rem 0.3rem 0; }
 input[type=number] { width: 5rem; }
 #title, #prompt { width: 100%; box-sizing: border-box; font-size: 1.1rem; padding: 0.4rem; }
 #output { white-space: pre-wrap; background: #f6f3ee; padding: 1rem; min-height: 6rem; border-radius: 6px; }
 #error { color: #b00020; font-weight: bold; }
 #poster { max-width: 22rem; display: block; margin-top: 1rem; }
 #history li { margin-bottom: 0.4rem; }
</style>
</head>
<body>
<h1>MovieGPT</h1>
<p>Model: <b>__MODEL__</b></p>
<fieldset>
 <label for="title">Title</label>
 <input id="title" placeholder="The Moon Baker">
 <label for="prompt">or a free prompt (used when the title is empty)</label>
 <textarea id="prompt" rows="2"></textarea><br>
__FIELDS__
 <button id="generate">Generate</button>
</fieldset>
<div id="error"></div>
<div id="output"></div>
<details id="others" hidden><summary id="chosen"></summary><ol id="candidates"></ol></details>
<img id="poster" alt="" hidden>
<h2>This session</h2>
<ol id="history"></ol>
<script>
const $ = (id) => document.getElementById(id);
$("generate").addEventListener("click", () => {
  const params = new URLSearchParams();
  for (const name of ["title", "prompt", ...__NAMES__]) {
    params.set(name, $(name).value);
  }
  $("error").textContent = ""; $("output").textContent = ""; $("poster").hidden = true; $("others").hidden = true;
  $("generate").disabled = true;
  const source = new EventSource("/generate?" + params.toString());
  source.addEventListener("text", (e) => { $("output").textContent += JSON.parse(e.data); });
  source.addEventListener("failed", (e) => {
    $("error").textContent = JSON.parse(e.data); source.close(); $("generate").disabled = false;
  });
  source.addEventListener("done", (e) => {
    const result = JSON.parse(e.data);
    source.close(); $("generate").disabled = false;
    const bits = (c) => (c.bits >= 0 ? "+" : "") + c.bits.toFixed(1) + " bits";
    if (result.candidates.length) {  // best_of: the chosen plot's score, the other candidates below it
      $("chosen").textContent = "best of " + result.candidates.length + ": the title saves this plot " +
        bits(result.candidates[0]) + "; the others";
      $("candidates").replaceChildren(...result.candidates.slice(1).map((c) => {
        const li = document.createElement("li"); li.textContent = "[" + bits(c) + "] " + c.text; return li;
      }));
      $("others").hidden = false;
    }
    const item = document.createElement("li");
    item.textContent = (result.title || result.text.slice(0, 80)) + " (seed " + result.seed + ")";
    if (result.poster) {
      $("poster").src = result.poster; $("poster").alt = "poster of " + result.title; $("poster").hidden = false;
      const link = document.createElement("a"); link.href = result.poster; link.textContent = " (poster)";
      item.appendChild(link);
    }
    $("history").appendChild(item);
  });
  source.onerror = () => { source.close(); $("generate").disabled = false; };  // never reconnect: no re-run
});
</script>
</body>
</html>
"""


def field(s: Setting, value: object) -> str:
    """One input of the form, named like the setting, holding the server's value (empty: off)."""
    shown = "" if value is None else str(value)
    return (
        f' <label title="{html.escape(s.help)}">{s.name} '
        f'<input id="{s.name}" type="text" inputmode="decimal" size="6" value="{html.escape(shown)}"></label>'
    )


def render_page(model_name: str, settings: list[Setting], defaults: object) -> str:
    """The page with a field for each setting the web form can change, filled with the server's values."""
    fields = "\n".join(field(s, getattr(defaults, s.name)) for s in settings)
    page = PAGE.replace("__MODEL__", html.escape(model_name)).replace("__FIELDS__", fields)
    return page.replace("__NAMES__", json.dumps([s.name for s in settings]))
