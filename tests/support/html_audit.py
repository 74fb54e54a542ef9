"""What in an HTML page could run or fetch something: for checking pages an instructor's browser opens."""

from __future__ import annotations

from html.parser import HTMLParser

ACTIVE_TAGS = {"iframe", "object", "embed", "svg", "form", "base", "frame", "frameset", "applet", "math"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "poster", "background", "srcset", "data"}


class _Audit(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        if tag in ACTIVE_TAGS:
            self.found.append(f"<{tag}>")
        if tag == "script":
            self._in_script = True
            self.scripts.append(dict(attrs).get("src") or "")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            elif name in URL_ATTRIBUTES and (value.startswith(("javascript:", "vbscript:"))
                                             or value.startswith("data:") and not value.startswith(
                                                 ("data:image/png;", "data:image/jpeg;"))):
                self.found.append(f"<{tag} {name}={value[:40]}>")
            elif tag == "img" and name == "src" and not value.startswith(("data:image/png;", "data:image/jpeg;")):
                self.found.append(f"<img src={value[:40]}> (a request)")

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def audit(html: str) -> tuple[list[str], list[str]]:
    """``(active, scripts)``: every element or attribute that could run or fetch, and each script's source."""
    parser = _Audit()
    parser.feed(html)
    return parser.found, parser.scripts
