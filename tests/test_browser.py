"""The reader's client: the built HTML book in a real browser (Debian's headless Chromium).

Serves `_build/html` (built by the README's setup command, which runs before the tests) on
127.0.0.1 and checks every page as a reader would see it: typeset math, loaded images, links
and anchors that resolve, launch buttons that open the page's own notebook (for Colab, its
Colab edition), no request leaving 127.0.0.1, no JavaScript errors, folded solutions, working
search, and figures that stay readable in the theme's dark mode. Screenshots of each chapter go
to `_build/screenshots/`. Skips, saying why, when the book is not built or no Chromium can be had.
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from clients.chromium import (
    HTML,
    ROOT,
    SCREENSHOTS,
    block_foreign_hosts,
    browser_context,
    require_built_html,
    require_chromium,
    static_server,
)

pytestmark = pytest.mark.browser

_SKIP_DIRS = {"_static", "_sources", "_images", "reports", "_downloads"}


def _pages() -> list[str]:
    """Every HTML page of the book, relative to _build/html (search.html is tested apart)."""
    if not (HTML / "index.html").is_file():
        return []
    pages = []
    for path in sorted(HTML.rglob("*.html")):
        rel = path.relative_to(HTML).as_posix()
        if rel.split("/")[0] in _SKIP_DIRS or rel in ("index.html", "search.html"):
            continue
        pages.append(rel)
    return pages


def _notebook_of(page: str) -> str | None:
    """The repository path of the notebook a page was built from, or None."""
    nb = Path(page).with_suffix(".ipynb").as_posix()
    return nb if (ROOT / nb).is_file() else None


PAGES = _pages()
CHAPTERS = [p for p in PAGES if _notebook_of(p)]


@pytest.fixture(scope="module")
def site():
    require_built_html()
    require_chromium()
    with static_server(HTML) as base, browser_context() as context:
        yield base, context


@cache
def _ids_on_disk(rel: str) -> frozenset[str]:
    text = (HTML / rel).read_text(encoding="utf-8", errors="replace")
    found = re.findall(r"""\b(?:id|name)\s*=\s*["']([^"']+)["']""", text)
    return frozenset(html.unescape(f) for f in found)


def _launch_hosts() -> dict[str, str]:
    """{button: host} of the launch buttons _config.yml configures."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8")) or {}
    buttons = config.get("launch_buttons") or {}
    hosts = {}
    for key, name in (
        ("colab_url", "Colab"),
        ("binderhub_url", "Binder"),
        ("jupyterhub_url", "JupyterHub"),
    ):
        if buttons.get(key):
            hosts[name] = urlsplit(buttons[key]).hostname
    return hosts


_WAIT_FOR_PAGE = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const imgs = [...document.images];
  for (const img of imgs) img.loading = "eager";
  await Promise.all(imgs.map((img) => img.decode().catch(() => null)));
  return true;
}"""

_INSPECT_PAGE = """() => {
  const visibleText = (root) => {
    const clone = root.cloneNode(true);
    const skip = "pre, code, script, style, textarea, mjx-container, .highlight, .cell_output";
    clone.querySelectorAll(skip).forEach((el) => el.remove());
    return clone.textContent;
  };
  const article = document.querySelector(".bd-article") || document.body;
  const math = [...document.querySelectorAll(".math")];
  const solutionCells = [...document.querySelectorAll("div.cell")].filter(
    (cell) => /###\\s*BEGIN SOLUTION/.test(cell.textContent));
  const dropdownBodies = [...document.querySelectorAll(".admonition.dropdown")].flatMap(
    (box) => [...box.children].filter((el) => !el.classList.contains("admonition-title")));
  const describe = (el) => (el.id ? "#" + el.id : "") + " " + el.textContent.trim().slice(0, 70);
  return {
    title: document.title,
    mathTotal: math.length,
    mathUntypeset: math.filter((el) => !el.querySelector("mjx-container")).map(describe),
    mjx: document.querySelectorAll("mjx-container").length,
    text: visibleText(article),
    images: [...document.images].map((img) => ({
      src: img.getAttribute("src"), ok: img.complete && img.naturalWidth > 0})),
    links: [...document.querySelectorAll("a[href]")].map((a) => ({
      raw: a.getAttribute("href"), href: a.href, text: a.textContent.trim().slice(0, 50)})),
    ids: [...document.querySelectorAll("[id], a[name]")].map((el) => el.id || el.name),
    openDetails: [...article.querySelectorAll("details[open]")].map(describe),
    visibleSolutions: solutionCells.filter((cell) => {
      const input = cell.querySelector(".cell_input") || cell;
      return input.checkVisibility();
    }).map((cell) => cell.textContent.trim().slice(0, 70)),
    solutionCells: solutionCells.length,
    visibleDropdowns: dropdownBodies.filter((el) => el.checkVisibility()).map(describe),
  };
}"""


def _open(context, url: str, problems: list[str]):
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"uncaught JS error: {e}"))
    page.goto(url, wait_until="load", timeout=60_000)
    page.evaluate(_WAIT_FOR_PAGE)
    return page


_RAW_MATH = [
    ("$$", re.compile(r"\$\$")),
    ("\\(", re.compile(r"\\\(")),
    ("\\[", re.compile(r"\\\[")),
    ("\\begin{", re.compile(r"\\begin\{")),
    ("$...\\command...$", re.compile(r"\$[^$\s][^$\n]{0,80}\\[A-Za-z]+[^$\n]{0,80}\$")),
]


def _check_links(rel: str, info: dict, base: str, problems: list[str]) -> None:
    own_ids = set(info["ids"])
    for link in info["links"]:
        href = link["href"]
        if not href.startswith(base):
            continue  # another host: never requested (the route blocks it), and not ours
        target = urlsplit(href)
        path = unquote(target.path)[len(urlsplit(base).path) :]
        if path == "" or path.endswith("/"):
            path += "index.html"
        where = f"link {link['raw']!r} ({link['text']!r})"
        if not (HTML / path).is_file():
            problems.append(f"{where}: {path} does not exist")
            continue
        fragment = unquote(target.fragment)
        if not fragment or not path.endswith(".html"):
            continue
        ids = own_ids if path == rel else _ids_on_disk(path)
        if fragment not in ids:
            problems.append(f"{where}: no element with id {fragment!r} in {path}")


def _launch_target(name: str, notebook: str) -> str:
    """The notebook a launch button must open: Colab renders no MyST, so its button opens the
    chapter's Colab edition (colab/<slug>.ipynb, written by `python -m dlbook.colab`);
    Binder and JupyterHub open the chapter itself."""
    return f"colab/{Path(notebook).name}" if name == "Colab" else notebook


def _check_launch_links(rel: str, info: dict, problems: list[str]) -> None:
    notebook = _notebook_of(rel)
    if notebook is None:
        return
    for name, host in _launch_hosts().items():
        target = _launch_target(name, notebook)
        own = re.compile(r"(^|[/=])" + re.escape(target) + r"($|[&?#])")
        hrefs = [link["href"] for link in info["links"] if urlsplit(link["href"]).hostname == host]
        if not hrefs:
            problems.append(f"no {name} launch button (no link to {host})")
        for href in hrefs:
            if not own.search(unquote(href)):
                problems.append(f"{name} launch link {href} does not open {target}")
            elif not (ROOT / target).is_file():
                problems.append(f"{name} launch link {href} opens {target}, which does not exist")


@pytest.mark.parametrize("rel", PAGES or [None])
def test_page_reads_offline(site, rel):
    """Math, images, links, launch buttons, requests, JS errors and folded solutions."""
    if rel is None:
        pytest.skip("no pages in _build/html")
    base, context = site
    problems: list[str] = []
    foreign: list[str] = []
    block_foreign_hosts(context, foreign)
    page = _open(context, base + rel, problems)
    try:
        info = page.evaluate(_INSPECT_PAGE)
        if info["mathUntypeset"]:
            problems += [f"formula not typeset by MathJax: {m}" for m in info["mathUntypeset"]]
        if info["mathTotal"] and not info["mjx"]:
            problems.append("the page has formulas but no mjx-container: MathJax did not run")
        for label, pattern in _RAW_MATH:
            for match in pattern.finditer(info["text"]):
                context_text = info["text"][max(0, match.start() - 40) : match.end() + 40]
                problems.append(f"raw TeX {label!r} in visible text: ...{context_text!r}...")
        problems += [
            f"image did not load: <img src={i['src']!r}>" for i in info["images"] if not i["ok"]
        ]
        _check_links(rel, info, base, problems)
        _check_launch_links(rel, info, problems)
        problems += [f"solution cell shown unfolded: {s!r}" for s in info["visibleSolutions"]]
        problems += [f"dropdown open on load: {d!r}" for d in info["openDetails"]]
        problems += [f"dropdown body shown on load: {d!r}" for d in info["visibleDropdowns"]]
        problems += [f"request to a host other than 127.0.0.1: {url}" for url in foreign]
        if _notebook_of(rel):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{Path(rel).stem}.png"))
    finally:
        page.close()
        context.unroute("**/*")
    assert not problems, f"{rel}:\n  " + "\n  ".join(dict.fromkeys(problems))


_FIGURES_IN_DARK_MODE = """async () => {
  const luminance = ([r, g, b]) => {
    const lin = (c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const backdrop = (el) => {  // the first opaque background at or behind el
    for (let node = el; node; node = node.parentElement) {
      const m = getComputedStyle(node).backgroundColor.match(/[\\d.]+/g).map(Number);
      if (m.length < 4 || m[3] > 0.5) return m.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const article = document.querySelector(".bd-article") || document.body;
  const out = [];
  for (const img of article.querySelectorAll("img")) {
    if (!img.naturalWidth || img.naturalWidth < 64) continue;
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let transparent = 0, dark = 0, opaque = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] < 128) { transparent++; continue; }
      opaque++;
      if (luminance([px[i], px[i + 1], px[i + 2]]) < 0.05) dark++;
    }
    const n = px.length / 4;
    out.push({src: img.getAttribute("src"), transparent: transparent / n,
              darkInk: opaque ? dark / opaque : 0, backdrop: luminance(backdrop(img)),
              theme: document.documentElement.dataset.theme});
  }
  return out;
}"""


@pytest.mark.parametrize("rel", CHAPTERS or [None])
def test_figures_readable_in_dark_mode(site, rel):
    """A figure drawn with dark ink on a transparent background vanishes on a dark page."""
    if rel is None:
        pytest.skip("no chapter pages in _build/html")
    base, context = site
    problems: list[str] = []
    foreign: list[str] = []
    block_foreign_hosts(context, foreign)
    page = context.new_page()
    try:
        page.emulate_media(color_scheme="dark")
        page.add_init_script(
            "localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');"
        )
        page.goto(base + rel, wait_until="load", timeout=60_000)
        page.evaluate(_WAIT_FOR_PAGE)
        figures = page.evaluate(_FIGURES_IN_DARK_MODE)
        theme = page.evaluate("document.documentElement.dataset.theme")
        assert theme == "dark", f"{rel}: the theme's dark mode did not switch on (theme={theme!r})"
        for fig in figures:
            if fig["transparent"] > 0.05 and fig["darkInk"] > 0.002 and fig["backdrop"] < 0.2:
                problems.append(
                    f"figure {fig['src']}: {fig['transparent']:.0%} transparent, dark ink, on a "
                    f"dark background (relative luminance {fig['backdrop']:.2f}): unreadable"
                )
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.evaluate(  # the first figure, centred on the screen
            """() => { const img = [...document.querySelectorAll('.bd-article img')]
                 .find((i) => i.naturalWidth >= 64);
               if (img) img.scrollIntoView({block: 'center'}); }"""
        )
        page.screenshot(path=str(SCREENSHOTS / f"{Path(rel).stem}-dark.png"))
    finally:
        page.close()
        context.unroute("**/*")
    problems += [f"request to a host other than 127.0.0.1: {url}" for url in foreign]
    assert not problems, f"{rel} in dark mode:\n  " + "\n  ".join(problems)


def _search_term(rel: str) -> str:
    """A term the chapter defines: the longest word of its title (e.g. 'perceptron')."""
    text = (HTML / rel).read_text(encoding="utf-8", errors="replace")
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", text, re.S)
    title = html.unescape(re.sub(r"<[^>]+>", " ", h1.group(1))) if h1 else Path(rel).stem
    words = re.findall(r"[A-Za-z][a-z]{3,}", title)
    return max(words, key=len).lower() if words else Path(rel).stem


@pytest.mark.parametrize("rel", CHAPTERS or [None])
def test_search_finds_the_chapter(site, rel):
    if rel is None:
        pytest.skip("no chapter pages in _build/html")
    base, context = site
    term = _search_term(rel)
    problems: list[str] = []
    foreign: list[str] = []
    block_foreign_hosts(context, foreign)
    page = _open(context, f"{base}search.html?q={term}", problems)
    try:
        page.wait_for_function(
            "() => /Search finished|did not match|found/i.test("
            "(document.querySelector('#search-results') || {}).textContent || '')",
            timeout=60_000,
        )
        hits = page.eval_on_selector_all("#search-results a[href]", "els => els.map(a => a.href)")
    finally:
        page.close()
        context.unroute("**/*")
    found = [h for h in hits if urlsplit(h).path.endswith("/" + rel)]
    assert found, f"search for {term!r} does not list {rel}; it lists {hits[:10]}"
    assert not problems and not foreign, f"search page for {term!r}: {problems + foreign}"
