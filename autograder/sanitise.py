"""Nothing a student wrote runs in the instructor's browser: clean every notebook before nbgrader records it.

The formgrader and the feedback are nbconvert's HTML of the autograded notebook, and nbconvert passes
a markdown cell's raw HTML, ``javascript:`` links and HTML/SVG/JavaScript outputs straight into the
page. Here, on the notebook the pipeline hands to nbgrader (never on the student's original):

- markdown the student wrote (any markdown cell that is not the release's own) is rendered with
  nbconvert's own markdown renderer, the HTML is cleaned by nh3 (the Rust ammonia sanitiser), and
  the cell becomes that clean HTML in one block, so it looks as the student wrote it, math included
  (MathJax reads ``$…$`` from the page's text), without scripts, event handlers, frames, SVG,
  forms, styles or links other than http(s) and mailto;
- images survive only as embedded png or jpeg (``data:image/png;base64,…``): no ``src`` that makes
  the browser fetch anything;
- outputs keep text, png and jpeg images, LaTeX without links, and cleaned HTML and markdown;
  JavaScript, SVG, widget views and every other mime type are dropped;
- raw cells are cleaned like HTML; a markdown cell's attachments keep their png and jpeg images only.

Plain `nbgrader autograde`, run without the pipeline, sanitises nothing.
"""

from __future__ import annotations

import base64
import binascii
import re

import nh3

IMAGE_TYPES = ("image/png", "image/jpeg")
LINK_SCHEMES = ("http://", "https://", "mailto:", "#")
KEPT_OUTPUT_TYPES = {"text/plain", "image/png", "image/jpeg", "text/html", "text/markdown", "text/latex"}
# dropped without a note: a widget's view needs the live kernel anyway, and text/plain stands in for it
QUIETLY_DROPPED = {"application/vnd.jupyter.widget-view+json"}
SAFE_LATEX = re.compile(r"\\(href|url|includegraphics|class|cssId|style|unicode|require)\b")
WRAPPER = '<div class="nnlab-student-markdown">\n{}\n</div>'


def _attribute(tag: str, name: str, value: str) -> str | None:
    """nh3's attribute filter: images only embedded, links only to the web or mail."""
    if name == "src":
        return value if any(value.startswith(f"data:{kind};base64,") for kind in IMAGE_TYPES) else None
    if name == "href":
        return value if value.strip().lower().startswith(LINK_SCHEMES) else None
    return value


def clean_html(html: str) -> str:
    """``html`` with every active part removed (nh3's defaults, stricter for URLs)."""
    return nh3.clean(html, attribute_filter=_attribute, url_schemes={"http", "https", "mailto", "data"},
                     link_rel="noopener noreferrer")


def clean_markdown(source: str) -> str:
    """Markdown as clean HTML in one block: the same page as the student's markdown, without active content."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    try:
        html = markdown2html_mistune(source)
    except Exception:  # mistune chokes on a crafted text: show it as text
        html = "<pre>" + nh3.clean_text(source) + "</pre>"
    lines = clean_html(html).strip().splitlines()
    # a blank line would end the HTML block and hand the rest back to the markdown parser
    return WRAPPER.format("\n".join(line if line.strip() else "<!---->" for line in lines))


def _valid_image(data) -> bool:
    if not isinstance(data, str):
        return False
    try:
        base64.b64decode(data.replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def clean_bundle(bundle) -> tuple[dict, list[str]]:
    """A display's mime bundle reduced to what is safe to show; and the mime types dropped."""
    if not isinstance(bundle, dict):
        return {}, ["a display that is not a mime bundle"]
    kept, dropped = {}, []
    for kind, value in bundle.items():
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = "".join(value)
        if kind in QUIETLY_DROPPED:
            continue
        if kind not in KEPT_OUTPUT_TYPES or not isinstance(value, str):
            dropped.append(str(kind)[:60])
        elif kind in IMAGE_TYPES:
            if _valid_image(value):
                kept[kind] = value
            else:
                dropped.append(f"{kind} that is not base64")
        elif kind == "text/html":
            kept[kind] = clean_html(value)
        elif kind == "text/markdown":
            kept[kind] = clean_markdown(value)
        elif kind == "text/latex" and SAFE_LATEX.search(value):
            dropped.append("text/latex with links or styles")
        else:
            kept[kind] = value
    return kept, dropped


def clean_outputs(outputs: list) -> tuple[list, list[str]]:
    """Outputs of a code cell, with each display cleaned; and the mime types dropped."""
    cleaned, dropped = [], []
    for output in outputs:
        kind = output.get("output_type")
        if kind in ("display_data", "execute_result"):
            output["data"], removed = clean_bundle(output.get("data", {}))
            dropped += removed
            output["metadata"] = {k: v for k, v in output.get("metadata", {}).items() if k in IMAGE_TYPES
                                  and isinstance(v, dict) and all(isinstance(x, (int, float)) for x in v.values())} \
                if isinstance(output.get("metadata"), dict) else {}
            if not output["data"]:
                continue
        cleaned.append(output)
    return cleaned, dropped


def notebook(nb, trusted_sources: set[str]) -> list[str]:
    """Clean ``nb`` in place; ``trusted_sources`` are the release's cell sources (the instructor's). Returns notes."""
    rewritten, dropped = 0, []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source not in trusted_sources:
            cell.source = clean_markdown(cell.source)
            rewritten += 1
            if isinstance(cell.get("attachments"), dict):
                cell.attachments = {name: {k: v for k, v in bundle.items() if k in IMAGE_TYPES and _valid_image(v)}
                                    for name, bundle in cell.attachments.items() if isinstance(bundle, dict)}
        elif cell.cell_type == "raw" and cell.source not in trusted_sources:
            cell.source = clean_html(cell.source)
            rewritten += 1
        elif cell.cell_type == "code":
            cell.outputs, removed = clean_outputs(cell.outputs)
            dropped += removed
    notes = []
    if dropped:
        kinds = ", ".join(sorted(set(dropped))[:6])
        notes.append(f"{len(dropped)} output part(s) a browser would run or fetch were left out of the graded "
                     f"copy ({kinds})")
    return notes
