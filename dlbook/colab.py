"""The Colab edition: every chapter with its MyST markup written out as plain Markdown.

The chapters are written in MyST (citations, cross-references, labelled equations, myths boxes,
folded solutions). The HTML book and JupyterLab with jupyterlab-myst render it; Colab renders
none of it and shows the raw roles and fences. This module writes a copy of each chapter to
`colab/<slug>.ipynb` whose code cells are the chapter's (outputs cleared) and whose Markdown
cells say the same thing without MyST:

- `{footcite}` becomes an author-year citation "(Rumelhart, Hinton & Williams, 1986)",
  `{footcite:t}` "Rumelhart, Hinton & Williams (1986)", and `{footbibliography}` a list of the
  works cited, formatted from the book's .bib files;
- `{ref}` and `{numref}` become a link to the section (`#label` in the same notebook, the HTML
  book's page when `html.baseurl` is configured) or else the section's title and its chapter,
  linked to that chapter's Colab edition;
- `{eq}` becomes "Eq. (7.2)" and a labelled equation carries `\\tag{7.2}`, numbered as the
  HTML book numbers them; `{term}` becomes its text;
- admonitions become block quotes with a bold title, dropdowns `<details>` (Colab folds them),
  `(label)=` targets `<a name="label" id="label"></a>` anchors for the `#label` links.

Markup it does not know is an error (ValueError naming the chapter, cell and construct), never
passed through. `python -m dlbook.colab` (re)writes the edition; `--check` only compares and
exits 1 when a committed file is stale or missing, so CI catches an edition that lags behind.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import functools
import html
import os
import re
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

__all__ = [
    "Book",
    "build_edition",
    "colab_notebook",
    "convert_markdown",
    "leftover_myst",
]

EDITION_DIR = "colab"

# --------------------------------------------------------------------------------------------
# Bibliography


@dataclass(frozen=True)
class Reference:
    """One bibliography entry, reduced to what a citation and a reference list need."""

    key: str
    surnames: tuple[str, ...]  # as cited; "et al." closes the list when the .bib says "others"
    year: str
    title: str
    author_text: str = ""  # the reference list's author part: "Hebb, D. O."
    rest: str = ""  # the reference list's title, venue and link

    def authors(self) -> str:
        """The author part of an author-year citation."""
        names = list(self.surnames)
        if names and names[-1] == "et al.":
            return f"{names[0]} et al."
        if len(names) == 1:
            return names[0]
        if len(names) in (2, 3):
            return ", ".join(names[:-1]) + " & " + names[-1]
        return f"{names[0]} et al."

    def entry(self, year: str) -> str:
        """The reference-list line, with `year` (which may carry a letter: "2016b")."""
        return f"{self.author_text} ({year}). {self.rest}"


@functools.cache
def _latex_to_text(value: str) -> str:
    """BibTeX's LaTeX as plain text: accents decoded, braces dropped, -- as an en dash."""
    if "\\" in value:
        import latexcodec  # noqa: F401  (registers the "ulatex" codec; a dependency of pybtex)

        value = codecs.decode(value, "ulatex")
    value = value.replace("---", "—").replace("--", "–").replace("~", "\u00a0")
    return re.sub(r"\s+", " ", value.replace("{", "").replace("}", "")).strip()


def _surname(person) -> str:
    return _latex_to_text(" ".join(person.prelast_names + person.last_names))


def _initials(person) -> str:
    parts = []
    for name in person.first_names + person.middle_names:
        name = _latex_to_text(name)
        pieces = [p for p in name.split("-") if p]
        parts.append("-".join(p[0] + "." if not p.endswith(".") else p for p in pieces))
    return " ".join(parts)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".?!" else text + "."


def _format_entry(entry) -> tuple[str, str]:
    fields = {k.lower(): _latex_to_text(v) for k, v in entry.fields.items()}
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = []
    for person in persons:
        surname = _surname(person)
        if surname == "others":
            names.append("et al.")
            continue
        initials = _initials(person)
        names.append(f"{surname}, {initials}" if initials else surname)
    if len(names) > 8:
        names = names[:6] + ["et al."]
    if names and names[-1] == "et al.":
        author_text = ", ".join(names[:-1]) + " et al."
    elif len(names) > 1:
        author_text = ", ".join(names[:-1]) + " & " + names[-1]
    else:
        author_text = names[0] if names else fields.get("organization", "Anonymous")
    if "author" not in entry.persons and "editor" in entry.persons:
        author_text += " (Ed.)" if len(persons) == 1 else " (Eds.)"
    kind = entry.type.lower()
    title = fields.get("title", "")
    parts = [_sentence(f"*{title}*" if kind in ("book", "phdthesis") else title)]
    pages = fields.get("pages", "").replace("--", "–")
    if kind == "article":
        venue = f"*{fields.get('journal', '')}*"
        if fields.get("volume"):
            venue += f", {fields['volume']}"
            if fields.get("number"):
                venue += f"({fields['number']})"
        if pages:
            venue += f", {pages}"
        parts.append(_sentence(venue))
    elif kind in ("inproceedings", "incollection", "conference"):
        venue = f"In *{fields.get('booktitle', '')}*"
        if pages:
            venue += f", pp. {pages}"
        parts.append(_sentence(venue))
        if fields.get("publisher"):
            parts.append(_sentence(fields["publisher"]))
    elif kind == "book":
        if fields.get("edition"):
            parts.append(_sentence(f"{fields['edition']} edition"))
        if fields.get("publisher"):
            parts.append(_sentence(fields["publisher"]))
    elif kind in ("phdthesis", "mastersthesis"):
        default = "PhD thesis" if kind == "phdthesis" else "Master's thesis"
        parts.append(_sentence(f"{fields.get('type', default)}, {fields.get('school', '')}"))
    elif kind == "techreport":
        report = fields.get("type", "Technical report")
        if fields.get("number"):
            report += f" {fields['number']}"
        parts.append(_sentence(f"{report}, {fields.get('institution', '')}"))
    else:
        venue = fields.get("howpublished") or fields.get("publisher") or ""
        if venue:
            parts.append(_sentence(venue))
    eprint = fields.get("eprint")
    archive = fields.get("archiveprefix", "")
    if eprint and archive.lower() == "arxiv" and "arxiv" not in " ".join(parts).lower():
        parts.append(_sentence(f"arXiv:{eprint}"))
    if fields.get("note"):
        parts.append(_sentence(fields["note"]))
    if fields.get("doi"):
        parts.append(f"https://doi.org/{fields['doi']}")
    elif fields.get("url"):
        parts.append(fields["url"])
    elif eprint and archive.lower() == "arxiv":
        parts.append(f"https://arxiv.org/abs/{eprint}")
    return author_text, " ".join(p for p in parts if p and p != ".")


def load_bibliography(paths: Iterable[Path]) -> dict[str, Reference]:
    """{key: Reference} from BibTeX files; the first file that defines a key wins."""
    from pybtex.database import parse_file  # a dependency of sphinxcontrib-bibtex

    refs: dict[str, Reference] = {}
    for path in paths:
        for key, entry in parse_file(str(path), bib_format="bibtex").entries.items():
            if key in refs:
                continue
            persons = entry.persons.get("author") or entry.persons.get("editor") or []
            title = _latex_to_text(entry.fields.get("title", key))
            surnames = tuple("et al." if _surname(p) == "others" else _surname(p) for p in persons)
            year = _latex_to_text(entry.fields.get("year", "n.d."))
            author_text, rest = _format_entry(entry)
            refs[key] = Reference(key, surnames or (title,), year, title, author_text, rest)
    return refs


def citation_years(refs: dict[str, Reference], keys: Iterable[str]) -> dict[str, str]:
    """{key: year} for the works `keys` cited together, with "a", "b", ... where two share
    their authors and year (in title order), as author-year styles do."""
    groups: dict[tuple[str, str], list[Reference]] = defaultdict(list)
    for key in dict.fromkeys(keys):
        groups[(refs[key].authors(), refs[key].year)].append(refs[key])
    years = {}
    for group in groups.values():
        group.sort(key=lambda r: r.title.lower())
        for i, ref in enumerate(group):
            years[ref.key] = ref.year + (chr(ord("a") + i) if len(group) > 1 else "")
    return years


# --------------------------------------------------------------------------------------------
# Block structure of a MyST Markdown cell

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
_LABEL = re.compile(r"^[ \t]*\((?P<label>[^()\s]+)\)=[ \t]*$")
_DIRECTIVE = re.compile(r"^\{(?P<name>[^{}\s]+)\}[ \t]*(?P<arg>.*)$")
_OPTION = re.compile(r"^[ \t]*:(?P<key>[\w-]+):(?:[ \t]+(?P<value>.*))?$")
_MATH_LABEL = re.compile(r"^[ \t]*(?:\((?P<label>[^()\s]+)\))?[ \t]*$")
_CITE_ROLE = re.compile(r"\{(?:foot)?cite(?::\w+)?\}`([^`]+)`")
_HEADING = re.compile(r"^ {0,3}(?P<hashes>#{1,6})[ \t]+(?P<title>.*?)[ \t#]*$")


@dataclass
class Text:
    lines: list[str]


@dataclass
class Code:
    lines: list[str]  # a fenced code block, fences included, kept as it is


@dataclass
class Label:
    name: str
    indent: str = ""


@dataclass
class Math:
    body: list[str]
    label: str | None
    indent: str = ""


@dataclass
class Directive:
    name: str
    arg: str
    options: dict[str, str]
    body: list[str]
    indent: str = ""


Block = Text | Code | Label | Math | Directive


def _dedent(lines: list[str], indent: str) -> list[str]:
    n = len(indent)
    return [line[n:] if line[:n].strip() == "" else line.lstrip() for line in lines]


def _directive_options(body: list[str]) -> tuple[dict[str, str], list[str]]:
    options: dict[str, str] = {}
    if body and body[0].strip() == "---":
        import yaml

        end = next((i for i in range(1, len(body)) if body[i].strip() == "---"), None)
        if end is None:
            raise ValueError("directive options start with --- but do not end with ---")
        loaded = yaml.safe_load("\n".join(body[1:end])) or {}
        return {str(k): "" if v is None else str(v) for k, v in loaded.items()}, body[end + 1 :]
    i = 0
    while i < len(body) and (m := _OPTION.match(body[i])):
        options[m["key"]] = (m["value"] or "").strip()
        i += 1
    return options, body[i:]


def parse_blocks(text: str) -> list[Block]:
    """Split MyST Markdown into text, code blocks, labels, display math and directives.

    A fence closes at the first later line of the same character, at least as long, and
    nothing else: a directive nested in another uses a longer fence for the outer one.
    """
    lines = text.split("\n")
    blocks: list[Block] = []
    i = 0

    def add_text(line: str) -> None:
        if blocks and isinstance(blocks[-1], Text):
            blocks[-1].lines.append(line)
        else:
            blocks.append(Text([line]))

    while i < len(lines):
        line = lines[i]
        if m := _FENCE.match(line):
            fence, indent, info = m["fence"], m["indent"], m["info"].strip()
            closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
            end = next((j for j in range(i + 1, len(lines)) if closing.match(lines[j])), None)
            if end is None:
                raise ValueError(f"unclosed fence {fence}{info}")
            inner = _dedent(lines[i + 1 : end], indent)
            if d := _DIRECTIVE.match(info):
                options, body = _directive_options(inner)
                blocks.append(Directive(d["name"], d["arg"].strip(), options, body, indent))
            elif fence[0] == ":":
                raise ValueError(f"colon fence without a {{directive}}: {line.strip()!r}")
            else:
                blocks.append(Code(lines[i : end + 1]))
            i = end + 1
            continue
        if m := _LABEL.match(line):
            blocks.append(Label(m["label"], line[: len(line) - len(line.lstrip())]))
            i += 1
            continue
        stripped = line.lstrip()
        if stripped.startswith("$$"):
            indent = line[: len(line) - len(stripped)]
            rest = stripped[2:]
            if "$$" in rest:
                body, after = rest.split("$$", 1)
                body_lines, end = [body], i
            else:
                end = next((j for j in range(i + 1, len(lines)) if "$$" in lines[j]), None)
                if end is None:
                    raise ValueError("unclosed $$ display math")
                before, after = lines[end].split("$$", 1)
                body_lines = [rest, *lines[i + 1 : end], before]
            label = _MATH_LABEL.match(after)
            if label is None:  # "$$x$$ and more": math inside a paragraph, left to the renderer
                for text_line in lines[i : end + 1]:
                    add_text(text_line)
                i = end + 1
                continue
            body_lines = [b for b in body_lines if b.strip()]
            blocks.append(Math(_dedent(body_lines, indent), label["label"], indent))
            i = end + 1
            continue
        add_text(line)
        i += 1
    return blocks


# --------------------------------------------------------------------------------------------
# The book: chapters, labels, equation numbers, bibliography


@dataclass
class Target:
    """Where a `(label)=` points: its chapter, the title that {ref} shows, its number."""

    slug: str
    anchor: str
    title: str | None
    number: str | None
    chapter_top: bool = False  # the label of the chapter's own title


@dataclass
class Chapter:
    slug: str
    number: int | None
    title: str
    path: Path


@dataclass
class Book:
    """Everything the conversion needs to know about the whole book."""

    root: Path
    chapters: dict[str, Chapter]
    targets: dict[str, Target]
    equations: dict[str, tuple[str, str]]  # label -> (slug, number)
    references: dict[str, Reference]
    base_url: str | None  # the HTML book's address, when _config.yml sets html.baseurl
    colab_base: str | None  # address of colab/ on Colab, from the repository and colab_url
    raw_base: str | None  # address of the repository's raw files, for images
    years: dict[str, dict[str, str]] = field(default_factory=dict)  # slug -> {key: "2016b"}

    @classmethod
    def load(cls, root: str | Path) -> Book:
        import yaml

        root = Path(root)
        config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
        toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8")) or {}
        chapters: dict[str, Chapter] = {}
        number = 0
        for part in toc.get("parts", []) or [{"chapters": toc.get("chapters", [])}]:
            for item in part.get("chapters", []) or []:
                path = root / f"{item.get('file', '')}.ipynb"
                if not item.get("file", "").startswith("chapters/") or not path.is_file():
                    continue
                if part.get("numbered"):
                    number += 1
                slug = path.stem
                chapters[slug] = Chapter(slug, number if part.get("numbered") else None, slug, path)
        bibfiles = [root / "chapters" / "references.bib", *sorted(root.glob("chapters/bib/*.bib"))]
        references = load_bibliography(p for p in bibfiles if p.is_file())
        sphinx_config = (config.get("sphinx") or {}).get("config") or {}
        base_url = (config.get("html") or {}).get("baseurl") or sphinx_config.get("html_baseurl")
        repo = config.get("repository") or {}
        colab_url = (config.get("launch_buttons") or {}).get("colab_url")
        colab_base = raw_base = None
        match = re.match(r"https?://github\.com/([^/]+)/([^/]+?)/?$", repo.get("url", ""))
        if match:
            folder = (repo.get("path_to_book") or "").strip("/")
            tail = "/".join(p for p in (repo.get("branch") or "main", folder) if p)
            raw_base = f"https://raw.githubusercontent.com/{match[1]}/{match[2]}/{tail}"
            if colab_url:
                colab_base = (
                    f"{colab_url.rstrip('/')}/github/{match[1]}/{match[2]}/blob/{tail}/"
                    + EDITION_DIR
                )
        book = cls(root, chapters, {}, {}, references, base_url or None, colab_base, raw_base)
        for chapter in chapters.values():
            book._index(chapter)
        return book

    def _index(self, chapter: Chapter) -> None:
        """Record the chapter's title, labels, section numbers and equation numbers."""
        nb = nbformat.read(chapter.path, as_version=4)
        counters = [0] * 5  # sections ##, ###, ... below the chapter title
        n_eq = 0
        pending: list[str] = []
        prefix = f"{chapter.number}." if chapter.number is not None else ""

        def heading(m: re.Match) -> str | None:
            level = len(m["hashes"])
            if level == 1:
                chapter.title = m["title"]
                return str(chapter.number) if chapter.number is not None else None
            counters[level - 2] += 1
            counters[level - 1 :] = [0] * (len(counters) - level + 1)
            if chapter.number is None:
                return None
            return ".".join(map(str, [chapter.number, *counters[: level - 1]]))

        def walk(blocks: list[Block], top: bool) -> None:
            nonlocal n_eq
            for block in blocks:
                if isinstance(block, Label):
                    pending.append(block.name)
                    continue
                title = number = None
                top_heading = False
                if isinstance(block, Text) and top:
                    first = True
                    for line in block.lines:
                        if not line.strip():
                            continue
                        if m := _HEADING.match(line):
                            numbered = heading(m)
                            if first:
                                title, number = m["title"], numbered
                                top_heading = len(m["hashes"]) == 1
                        first = False
                if isinstance(block, Math) and block.label:
                    n_eq += 1
                    self.equations[block.label] = (chapter.slug, f"{prefix}{n_eq}")
                if (
                    isinstance(block, Directive)
                    and block.name == "math"
                    and block.options.get("label")
                ):
                    n_eq += 1
                    self.equations[block.options["label"]] = (chapter.slug, f"{prefix}{n_eq}")
                for label in pending:
                    self._add_target(chapter, label, title, number, top_heading)
                pending.clear()
                if isinstance(block, Directive) and block.name != "footbibliography":
                    with contextlib.suppress(ValueError):  # reported when converted
                        walk(parse_blocks("\n".join(block.body)), top=False)

        cited = [
            key.strip()
            for cell in nb.cells
            if cell.cell_type == "markdown"
            for keys in _CITE_ROLE.findall(cell.source)
            for key in keys.split(",")
            if key.strip() in self.references
        ]
        self.years[chapter.slug] = citation_years(self.references, cited)
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                for label in pending:  # a label at the end of a cell, before a code cell
                    self._add_target(chapter, label, None, None, False)
                pending.clear()
                continue
            try:
                blocks = parse_blocks(cell.source)
            except ValueError:
                continue  # reported with its cell when the chapter is converted
            walk(blocks, top=True)  # a label that ends the cell targets the next cell's start
        for label in pending:
            self._add_target(chapter, label, None, None, False)

    def _add_target(
        self, chapter: Chapter, label: str, title: str | None, number: str | None, top: bool
    ) -> None:
        if label in self.targets:
            raise ValueError(f"{chapter.path.name}: label {label!r} is defined twice")
        self.targets[label] = Target(chapter.slug, label, title, number, top)

    def chapter_link(self, slug: str, *, with_title: bool = False) -> str:
        """A link to another chapter ("[chapter 7](...)"): its Colab edition, or its page in
        the HTML book when `html.baseurl` is configured, or plain text without either."""
        chapter = self.chapters[slug]
        text = f"chapter {chapter.number}" if chapter.number else chapter.title
        if with_title and chapter.number:
            text += f", {chapter.title}"
        if self.base_url:
            url = f"{self.base_url.rstrip('/')}/chapters/{slug}.html"
        elif self.colab_base:
            url = f"{self.colab_base}/{slug}.ipynb"
        else:
            return text
        title = chapter.title.replace('"', "'")
        return f'[{text}]({url} "{title}")'


# --------------------------------------------------------------------------------------------
# Conversion

_ROLE_OR_CODE = re.compile(
    r"(?P<role>\{(?P<name>[A-Za-z][\w:.+-]*)\})?(?P<ticks>`+)(?P<body>.+?)(?<!`)(?P=ticks)(?!`)"
    r"|(?P<image>!\[[^\]]*\]\()(?P<src>[^)\s]+)"
    r"|(?P<tag><img\b[^>]*?\bsrc=)(?P<q>[\"'])(?P<tsrc>[^\"']+)(?P=q)",
    re.S,
)
_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
_ADMONITIONS = {
    "admonition": None,
    "note": "Note",
    "warning": "Warning",
    "tip": "Tip",
    "important": "Important",
    "caution": "Caution",
    "attention": "Attention",
    "danger": "Danger",
    "error": "Error",
    "hint": "Hint",
    "seealso": "See also",
}
# Directives with no Colab equivalent that read well as a quoted block with a bold title.
_QUOTED = {"margin", "sidebar", "topic", "epigraph", "pull-quote", "highlights", "card"}
_CODE_DIRECTIVES = {"code", "code-block", "sourcecode"}


@dataclass
class _State:
    book: Book
    slug: str
    where: str
    cited: list[str] = field(default_factory=list)  # since the last {footbibliography}

    def fail(self, what: str) -> ValueError:
        return ValueError(f"{self.where}: {what}")


def _cite_keys(body: str, state: _State) -> list[str]:
    keys = [k.strip() for k in body.split(",") if k.strip()]
    for key in keys:
        if key not in state.book.references:
            raise state.fail(f"citation key {key!r} is in no .bib file")
        if key not in state.cited:
            state.cited.append(key)
    return keys


def _ref(body: str, state: _State, numbered: bool) -> str:
    book = state.book
    m = _EXPLICIT.match(body)
    text, label = (m["text"].strip(), m["target"].strip()) if m else (None, body.strip())
    target = book.targets.get(label)
    if target is None:
        raise state.fail(f"{{ref}} to unknown label {label!r}")
    if numbered:
        if target.number is None:
            raise state.fail(f"{{numref}} to {label!r}, which has no number")
        text = (text or "Section %s").replace("%s", target.number)
        text = text.replace("{number}", target.number).replace("{name}", target.title or "")
    if text is None:
        if target.title is None:
            raise state.fail(f"{{ref}}`{label}` points to no heading: give it a text, <label>")
        text = _inline(target.title, state)
    if target.slug == state.slug:
        return f"[{text}](#{target.anchor})"
    if book.base_url:
        return f"[{text}]({book.base_url.rstrip('/')}/chapters/{target.slug}.html#{target.anchor})"
    chapter = book.chapters[target.slug]
    if target.chapter_top and text == chapter.title:
        return book.chapter_link(target.slug, with_title=True)
    return f"section *{text}* of {book.chapter_link(target.slug)}"


def _role(name: str, body: str, before: str, state: _State) -> str:
    book = state.book
    if name in ("footcite", "footcite:p", "cite", "cite:p", "footcite:ps", "cite:ps"):
        years = book.years.get(state.slug, {})
        refs = [book.references[k] for k in _cite_keys(body, state)]
        return "(" + "; ".join(f"{r.authors()}, {years.get(r.key, r.year)}" for r in refs) + ")"
    if name in ("footcite:t", "cite:t", "footcite:ts", "cite:ts"):
        years = book.years.get(state.slug, {})
        refs = [book.references[k] for k in _cite_keys(body, state)]
        cites = [f"{r.authors()} ({years.get(r.key, r.year)})" for r in refs]
        return cites[0] if len(cites) == 1 else ", ".join(cites[:-1]) + " and " + cites[-1]
    if name in ("ref", "numref"):
        return _ref(body, state, numbered=name == "numref")
    if name == "eq":
        label = body.strip()
        if label not in book.equations:
            raise state.fail(f"{{eq}} to unknown equation label {label!r}")
        number = f"({book.equations[label][1]})"
        return number if re.search(r"(?i)\b(eqs?\.|equations?)\s*$", before) else f"Eq. {number}"
    if name == "term":
        m = _EXPLICIT.match(body)
        return m["text"].strip() if m else body.strip()
    if name == "doc":
        m = _EXPLICIT.match(body)
        slug = Path((m["target"] if m else body).strip()).stem
        if slug not in book.chapters:
            raise state.fail(f"{{doc}} to {body!r}, which is no chapter")
        return m["text"].strip() if m else book.chapter_link(slug)
    if name == "math":
        return f"${body}$"
    if name == "abbr":
        return body.strip()
    if name in ("sub", "sup", "kbd"):
        return f"<{name}>{html.escape(body)}</{name}>"
    raise state.fail(f"unknown role {{{name}}}`{body}`")


def _inline(text: str, state: _State) -> str:
    def replace(m: re.Match) -> str:
        if m["image"]:
            return m["image"] + _asset(m["src"], state)
        if m["tag"]:
            return f"{m['tag']}{m['q']}{_asset(m['tsrc'], state)}{m['q']}"
        if m["role"] is None:
            return m[0]  # a plain code span
        return _role(m["name"], m["body"], text[: m.start()], state)

    return _ROLE_OR_CODE.sub(replace, text)


def _quote(lines: list[str]) -> list[str]:
    return [f"> {line}" if line.strip() else ">" for line in lines]


def _strip_blank(lines: list[str]) -> list[str]:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def _summary(title: str) -> str:
    """A title for <summary>: Markdown is not parsed inside an HTML block, so write it as HTML."""
    parts = re.split(r"(\$[^$]+\$)", title)  # keep inline math for the math renderer
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(part)
            continue
        part = html.escape(part, quote=False)
        part = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", part)
        part = re.sub(r"\*(.+?)\*", r"<i>\1</i>", part)
        out.append(re.sub(r"`(.+?)`", r"<code>\1</code>", part))
    return "".join(out)


def _references(state: _State) -> list[str]:
    years = state.book.years.get(state.slug, {})
    refs = [state.book.references[k] for k in state.cited]
    refs.sort(key=lambda r: (r.author_text.lower(), years.get(r.key, r.year), r.key))
    state.cited.clear()
    return [f"- {r.entry(years.get(r.key, r.year))}" for r in refs]


def _directive(block: Directive, state: _State) -> list[str]:
    name = block.name
    classes = block.options.get("class", "").split()
    if name in _ADMONITIONS or name in _QUOTED:
        body = list(block.body)
        title = _ADMONITIONS.get(name) or block.arg
        if name == "admonition" and not block.arg:
            raise state.fail("{admonition} without a title")
        if name in _ADMONITIONS and name != "admonition" and block.arg:
            body = [block.arg, *body]  # a note's argument is the start of its content
        title = _inline(title, state) if title else ""
        inner = _strip_blank(_convert_lines(body, state))
        if "dropdown" in classes:
            return _details(title or name.capitalize(), inner, "open" in block.options)
        head = [f"**{title}**", ""] if title else []
        return _quote(head + inner)
    if name == "dropdown":
        title = _inline(block.arg, state) if block.arg else "Details"
        inner = _strip_blank(_convert_lines(block.body, state))
        return _details(title, inner, "open" in block.options)
    if name == "footbibliography":
        if any(line.strip() for line in block.body):
            raise state.fail("{footbibliography} with content")
        return _references(state)
    if name == "math":
        label = block.options.get("label")
        return _math(Math(_strip_blank(block.body), label), state)
    if name in _CODE_DIRECTIVES:
        runs = [len(r) for line in block.body for r in re.findall(r"`{3,}", line)]
        fence = "`" * max([3, *(n + 1 for n in runs)])
        return [f"{fence}{block.arg}", *block.body, fence]
    if name in ("figure", "image"):
        alt = block.options.get("alt", "")
        lines = [f"![{alt}]({_asset(block.arg, state)})"]
        caption = _strip_blank(_convert_lines(block.body, state)) if name == "figure" else []
        return lines + ([""] + [f"*{' '.join(caption)}*"] if caption else [])
    if name == "raw" and block.arg.strip().lower() == "html":
        return list(block.body)
    raise state.fail(f"unknown directive {{{name}}} (add a Colab form for it to dlbook.colab)")


def _details(title: str, inner: list[str], is_open: bool) -> list[str]:
    tag = "<details open>" if is_open else "<details>"
    return [tag, f"<summary>{_summary(title)}</summary>", "", *inner, "", "</details>"]


def _asset(path: str, state: _State) -> str:
    """An image address that works from colab/: the repository's raw file for a relative path."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", path) or path.startswith(("/", "#")):
        return path
    if state.book.raw_base is None:
        raise state.fail(f"image {path!r}: no repository URL in _config.yml to serve it from")
    return f"{state.book.raw_base}/chapters/{path.removeprefix('./')}"


def _math(block: Math, state: _State) -> list[str]:
    body = list(block.body)
    if block.label:
        if block.label not in state.book.equations:
            raise state.fail(f"equation label {block.label!r} was not indexed")
        body.append(f"\\tag{{{state.book.equations[block.label][1]}}}")
    return ["$$", *body, "$$"]


def _convert_lines(lines: list[str], state: _State) -> list[str]:
    try:
        blocks = parse_blocks("\n".join(lines))
    except ValueError as err:
        raise state.fail(str(err)) from None
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Text):
            out += _inline("\n".join(block.lines), state).split("\n")
        elif isinstance(block, Code):
            out += block.lines
        elif isinstance(block, Label):
            name = html.escape(block.name)
            out.append(f'{block.indent}<a name="{name}" id="{name}"></a>')
        elif isinstance(block, Math):
            out += [block.indent + line for line in _math(block, state)]
        else:
            out += [block.indent + line if line else line for line in _directive(block, state)]
    return out


def convert_markdown(book: Book, slug: str, text: str, *, where: str | None = None) -> str:
    """The Markdown cell `text` of chapter `slug` with its MyST markup written out for Colab.

    Raises ValueError, naming `where`, for markup that has no Colab form.
    """
    state = _State(book, slug, where or f"chapters/{slug}.ipynb")
    return _finish("\n".join(_convert_lines(text.split("\n"), state)), state)


def _finish(text: str, state: _State) -> str:
    left = leftover_myst(text)
    if left:
        raise state.fail(f"MyST markup left after conversion: {left[0]!r}")
    return text


_LEFTOVER = [
    re.compile(r"\{[A-Za-z][\w:.+-]*\}`"),  # a role
    re.compile(r"^[ \t>]*:{3,}", re.M),  # a colon fence
    re.compile(r"^[ \t>]*(`{3,}|~{3,})[ \t]*\{", re.M),  # a backtick directive
    re.compile(r"^[ \t>]*\([^()\s]+\)=[ \t]*$", re.M),  # a target label
    re.compile(r"\$\$[ \t]*\([^()\s]+\)[ \t]*$", re.M),  # a labelled equation
]


def leftover_myst(markdown: str) -> list[str]:
    """MyST roles, fences and labels left in Markdown, outside code blocks and code spans."""
    kept, in_code, fence = [], False, ""
    for line in markdown.split("\n"):
        stripped = line.lstrip(" \t>")
        m = re.match(r"(`{3,}|~{3,})(.*)$", stripped)
        if in_code:
            if m and m[1][0] == fence[0] and len(m[1]) >= len(fence) and not m[2].strip():
                in_code = False
            continue
        if m and not m[2].lstrip().startswith("{"):
            in_code, fence = True, m[1]
            continue
        kept.append(line)
    text = _ROLE_OR_CODE.sub(
        lambda m: "" if m["ticks"] and not m["role"] else m[0], "\n".join(kept)
    )
    found = []
    for pattern in _LEFTOVER:
        for m in pattern.finditer(text):
            line_start = text.rfind("\n", 0, m.start()) + 1
            line_end = text.find("\n", m.end())
            found.append(text[line_start : line_end if line_end >= 0 else len(text)].strip())
    return found


def colab_notebook(book: Book, slug: str) -> nbformat.NotebookNode:
    """The Colab edition of chapter `slug`: code cells as they are, Markdown cells converted."""
    chapter = book.chapters[slug]
    nb = nbformat.read(chapter.path, as_version=4)
    state = _State(book, slug, "")
    out = nbformat.v4.new_notebook(metadata=dict(nb.metadata), nbformat_minor=nb.nbformat_minor)
    out.metadata["dlbook"] = {
        "colab_edition_of": f"chapters/{slug}.ipynb",
        "generator": "python -m dlbook.colab",
    }
    first_markdown = True
    for index, cell in enumerate(nb.cells):
        new = nbformat.from_dict(
            {k: v for k, v in cell.items() if k not in ("outputs", "execution_count")}
        )
        if cell.cell_type == "code":
            new.outputs = []
            new.execution_count = None
        elif cell.cell_type == "markdown":
            state.where = f"chapters/{slug}.ipynb, cell {index}"
            lines = _convert_lines(cell.source.split("\n"), state)
            text = "\n".join(lines)
            if first_markdown:
                text = _with_note(text, book, chapter)
                first_markdown = False
            new.source = _finish(text, state)
        out.cells.append(new)
    if state.cited:
        state.where = f"chapters/{slug}.ipynb"
        raise state.fail(f"cites {state.cited} after its last {{footbibliography}}")
    return out


def _with_note(text: str, book: Book, chapter: Chapter) -> str:
    """Append to the chapter's first Markdown cell what this edition changes."""
    where = f"chapter {chapter.number} of dlbook" if chapter.number else "dlbook"
    book_link = f"[the HTML book]({book.base_url})" if book.base_url else "the HTML book"
    lines = text.split("\n")
    heading = next((i for i, line in enumerate(lines) if _HEADING.match(line)), None)
    note = (
        f"*This is the Colab edition of {where}. Citations, cross-references and equation "
        f"numbers are written out in plain Markdown here; {book_link} has the same text with "
        "links and footnotes.*"
    )
    if heading is None:
        return text + "\n\n" + note
    return "\n".join(lines[: heading + 1] + ["", note] + lines[heading + 1 :])


# --------------------------------------------------------------------------------------------
# Writing and checking the edition


def _serialize(nb: nbformat.NotebookNode) -> str:
    nbformat.validate(nb)
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _edition(book: Book) -> Iterator[tuple[Path, str]]:
    for slug in book.chapters:
        yield book.root / EDITION_DIR / f"{slug}.ipynb", _serialize(colab_notebook(book, slug))


def build_edition(root: str | Path, *, check: bool = False) -> list[str]:
    """Write (or with `check`, compare) colab/<slug>.ipynb for every chapter in _toc.yml.

    Returns what was written, or with `check` what is stale: a missing or outdated file, or a
    file in colab/ that belongs to no chapter (removed when writing).
    """
    book = Book.load(root)
    folder = book.root / EDITION_DIR
    wanted = dict(_edition(book))  # converts every chapter first: an error writes nothing
    changed = []
    for path, text in wanted.items():
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        rel = path.relative_to(book.root).as_posix()
        if check:
            changed.append(f"{rel} is {'missing' if current is None else 'out of date'}")
        else:
            folder.mkdir(exist_ok=True)
            _write_atomic(path, text)
            changed.append(f"wrote {rel}")
    for path in sorted(folder.glob("*.ipynb")) if folder.is_dir() else []:
        if path not in wanted:
            rel = path.relative_to(book.root).as_posix()
            if check:
                changed.append(f"{rel} belongs to no chapter in _toc.yml")
            else:
                path.unlink()
                changed.append(f"removed {rel}")
    return changed


def _default_root() -> Path:
    here = Path(__file__).resolve().parent.parent
    return here if (here / "_toc.yml").is_file() else Path.cwd()


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dlbook.colab",
        description="Write colab/<slug>.ipynb, each chapter without MyST markup, for Colab.",
    )
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if stale")
    parser.add_argument("--root", type=Path, default=None, help="the book's folder")
    args = parser.parse_args(None if argv is None else list(argv))
    root = args.root or _default_root()
    try:
        changed = build_edition(root, check=args.check)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for line in changed:
        print(line)
    if args.check and changed:
        print("the Colab edition is stale: run `python -m dlbook.colab`", file=sys.stderr)
        return 1
    if not changed:
        print(f"{EDITION_DIR}/ is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
