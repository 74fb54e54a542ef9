"""The course in a real browser: Playwright drives Debian's Chromium against JupyterLab.

A learner opens a lesson from lessons/ (`make lab`), runs it, moves an explorer's slider, answers
an exercise wrongly and then rightly, and presses Validate. An instructor opens the Formgrader
(`make formgrader`) and finds every lesson and a graded submission; and opens, graded by the
pipeline, a written answer full of script that would write files through the Jupyter contents API:
nothing runs, no request is made, no file appears. Each server is started by
the test on 127.0.0.1 with its own settings folder, so no news pop-up or old layout gets in the
way, and works on a copy, so nothing under lessons/ or .course/ changes.

Needs Chromium at /usr/bin/chromium (or $NNLAB_CHROMIUM) and the playwright package. Without
them these tests skip with the reason, except when CI is set: `.ci/run` installs Chromium, so
there a missing browser is a failure. A failed test leaves a screenshot of its page in
test-output/screenshots/ (every test does, with NNLAB_SCREENSHOTS=always).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from conftest import LESSON_IDS, LESSONS, ROOT, class_release, release_path, run_tool, solution_path, tool_env
from support.submissions import fill_answers, model_answers
from labserver import free_port, running

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or, in CI, fails) with the reason
    expect = None

CHROMIUM = Path(os.environ.get("NNLAB_CHROMIUM", "/usr/bin/chromium"))
# Off: everything Chromium would fetch from the internet by itself (updates, sync, field trials).
CHROMIUM_ARGS = ["--headless", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
TOKEN = "browser-test-token"
LESSON = "07_backpropagation"  # its explorer comes before its first exercise, as run-all needs
FIRST_CHECK = "numerical_gradient_array_tests"  # where run-all stops on the release: its first self-check
SECONDS = 1000  # Playwright counts milliseconds
# JupyterLab settings for a clean, predictable page: no news or update pop-up, every cell in the
# page (no virtual scrolling), so a cell's position in the notebook is its position in the page.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def missing_browser() -> str | None:
    """Why no browser test can run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set NNLAB_CHROMIUM)"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = missing_browser()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests are required in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright


    # Chromium's own sandbox cannot start as root (containers, CI machines).
    sandbox = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + sandbox)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser tab; a screenshot of it is saved when the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60 * SECONDS)
    expect.set_options(timeout=30 * SECONDS)
    tab = context.new_page()
    yield tab
    report = getattr(request.node, "report_call", None)
    failed = report is not None and report.failed
    if failed or os.environ.get("NNLAB_SCREENSHOTS") == "always":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"{request.node.name}.png"
        tab.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the {'failed ' if failed else ''}page: {shot}")
    context.close()


def lab_settings(folder: Path) -> Path:
    """A JupyterLab user-settings folder holding LAB_SETTINGS."""
    for plugin, values in LAB_SETTINGS.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return folder


def start(target: str, home: Path, **make_variables):
    """`make <target>` with the test's token, port, settings and class folder; a context manager."""
    env = tool_env({"JUPYTERLAB_SETTINGS_DIR": str(lab_settings(home / "settings")),
                    "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
                    "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
                    "NNLAB_COURSE_DIR": str(home / "course")})
    variables = {"LAB_PORT": free_port(), "LAB_ARGS": f"--no-browser --IdentityProvider.token={TOKEN}",
                 **make_variables}
    command = ["make", "--no-print-directory", target] + [f"{name}={value}" for name, value in variables.items()]
    return running(command, cwd=ROOT, env=env, token=TOKEN)


# ---------------------------------------------------------------------------------------------
# The learner


@pytest.fixture(scope="module")
def learner_lab(tmp_path_factory):
    """`make lab` on a copy of lessons/; yields (url, the copy, server log)."""
    home = tmp_path_factory.mktemp("learner")
    shutil.copytree(LESSONS, home / "lessons")
    # expose_app_in_browser: the test can ask JupyterLab itself whether the kernel is connected.
    args = f"--no-browser --IdentityProvider.token={TOKEN} --LabApp.expose_app_in_browser=True"
    with start("lab", home, LAB_ROOT=home / "lessons", LAB_ARGS=args) as (url, log):
        yield url, home / "lessons", log


KERNEL_READY = """() => {
    const kernel = window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel;
    return kernel?.connectionStatus === "connected" && kernel?.status === "idle";
}"""


def open_lesson(page, learner_lab, copy_name: str):
    """Open a fresh copy of LESSON's release in its own workspace; return the locator of its cells."""
    url, lessons, _ = learner_lab
    shutil.copy(lessons / LESSON / f"{LESSON}.ipynb", lessons / LESSON / f"{copy_name}.ipynb")
    # A workspace of its own, so JupyterLab does not reopen another test's notebooks beside it.
    page.goto(f"{url}/lab/workspaces/{copy_name}/tree/{LESSON}/{copy_name}.ipynb?token={TOKEN}")
    page.wait_for_function(KERNEL_READY, timeout=120 * SECONDS)
    return page.locator(".jp-Notebook .jp-Cell")


def run_all(page):
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


def cell_index(grade_id: str) -> int:
    """Where the cell with this nbgrader grade id sits in LESSON's release."""
    cells = nbformat.read(release_path(LESSON), as_version=4).cells
    return next(i for i, cell in enumerate(cells) if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def type_into(page, cell, text: str) -> None:
    """Replace a cell's text, as a learner selecting all and typing (pasting) would."""
    if "jp-mod-rendered" in (cell.get_attribute("class") or ""):
        cell.locator(".jp-MarkdownOutput").dblclick()  # a written answer: open its editor
    cell.locator(".cm-content").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(text)


def run_answer_and_check(page, cells, grade_id: str, text: str):
    """Type ``text`` as the answer ``grade_id``, run it and the self-check under it; return that check's cell."""
    answer = cells.nth(cell_index(grade_id))
    type_into(page, answer, text)
    page.keyboard.press("Shift+Enter")  # runs the answer, then selects the self-check
    page.keyboard.press("Shift+Enter")
    return cells.nth(cell_index(grade_id) + 1)


def validate(page) -> tuple[str, str]:
    """Press nbgrader's Validate button; return the result dialog's class ('passed'/'failed') and text."""
    page.locator(".validate-button").click()
    dialog = page.locator(".jp-Dialog", has_text="Validation Results")
    dialog.wait_for(timeout=180 * SECONDS)  # validation runs the whole notebook in a new kernel
    body = dialog.locator(".validation-success, .validation-failed")
    outcome = "passed" if "validation-success" in body.get_attribute("class") else "failed"
    text = body.inner_text()
    dialog.get_by_role("button", name="Ok").click()
    return outcome, text


def test_learner_runs_a_lesson_and_its_explorer_redraws_when_the_slider_moves(page, learner_lab):
    cells = open_lesson(page, learner_lab, "run_all")
    run_all(page)
    # Run-all stops at the first self-check, whose answer is still the release's stub.
    first_check = cells.nth(cell_index(FIRST_CHECK))
    first_check.locator(".jp-OutputArea-output", has_text="NotImplementedError").wait_for(timeout=120 * SECONDS)

    explorer = page.locator(".jp-Cell", has=page.locator(".widget-slider"))
    assert explorer.count() == 1, "expected one explorer above the first exercise"
    explorer.scroll_into_view_if_needed()
    plot = explorer.locator(".widget-output img")
    try:  # attached, not visible: an image Chromium has not decoded yet has no size
        plot.first.wait_for(state="attached", timeout=60 * SECONDS)
    except Exception as error:  # say what the explorer showed instead of a plot
        shown = explorer.locator(".jp-Cell-outputArea").inner_text()[-2000:]
        pytest.fail(f"the explorer drew no plot within 60 s; its cell shows:\n{shown}\n({error})")
    assert plot.count() == 1, f"the explorer shows {plot.count()} plots, expected exactly 1"
    readout = explorer.locator(".widget-readout")
    before_value, before_plot = readout.inner_text(), plot.get_attribute("src")
    assert before_value == "23", f"the step slider starts at the last step, 23; it shows {before_value!r}"

    explorer.locator(".noUi-handle").focus()
    page.keyboard.press("ArrowLeft")  # one step back, as a learner would with the keyboard or mouse
    expect(readout).to_have_text("22")
    expect(plot).not_to_have_attribute("src", before_plot)  # the kernel drew a new figure
    assert plot.count() == 1


def test_learner_answers_an_exercise_and_validates(page, learner_lab):
    cells = open_lesson(page, learner_lab, "answers")
    run_all(page)
    check_cell = cells.nth(cell_index(FIRST_CHECK))
    check_cell.locator(".jp-OutputArea-output", has_text="NotImplementedError").wait_for(timeout=120 * SECONDS)

    # A plausible mistake, the sign of the error flipped: the self-check says what and why.
    wrong = "def output_delta(t, out):\n    return (out - t) * out * (1 - out)\n"
    check_cell = run_answer_and_check(page, cells, "output_delta", wrong)
    failure = check_cell.locator(".jp-OutputArea-output", has_text="CheckFailure")
    failure.wait_for()
    message = failure.inner_text()
    for expected in ["output_delta(t=[1], out=[0.5])", "expected", "0.125", "-0.125",
                     "exactly the negative of the expected: a sign slip"]:
        assert expected in message, f"the failure message lacks {expected!r}:\n{message}"

    right = "def output_delta(t, out):\n    return (t - out) * out * (1 - out)\n"
    check_cell = run_answer_and_check(page, cells, "output_delta", right)
    check_cell.locator(".jp-OutputArea-output", has_text="✓ output_delta passes the visible checks").wait_for()
    assert "Error" not in check_cell.locator(".jp-Cell-outputArea").inner_text()

    # Validate: the exercises still unanswered fail, the answered one does not.
    outcome, text = validate(page)
    assert outcome == "failed", text
    assert "NotImplementedError" in text and "output_delta(t=[1], out=[0.5])" not in text, text

    # Answer the rest, the written answer too (the instructor's model answers, typed in); validate again.
    answers = model_answers(nbformat.read(solution_path(LESSON), as_version=4))
    for grade_id in answers:
        if grade_id != "output_delta":
            type_into(page, cells.nth(cell_index(grade_id)), answers[grade_id])
    outcome, text = validate(page)
    assert outcome == "passed", text
    assert "Success! Your notebook passes all the tests." in text


def test_the_learner_tests_leave_lessons_untouched(learner_lab):
    """They work on a copy: the lessons in the repository keep their committed, output-free text."""
    changed = run_tool("git", "status", "--porcelain", "--untracked-files=all", "--", "lessons")
    assert changed.returncode == 0 and changed.stdout == "", changed.stdout


# ---------------------------------------------------------------------------------------------
# The instructor

GRADED_STUDENT = "ada"
SKIPPED = "hidden_delta"  # the exercise ada leaves as the release's stub (its test cell is worth 2 points)


def points() -> tuple[float, float, float]:
    """LESSON's autograded points, the points SKIPPED's test cell is worth, and the written answers' points."""
    cells = [c for c in nbformat.read(release_path(LESSON), as_version=4).cells if c.metadata.get("nbgrader", {}).get("points")]
    code = sum(c.metadata.nbgrader.points for c in cells if c.cell_type == "code")
    skipped = sum(c.metadata.nbgrader.points for c in cells if c.metadata.nbgrader.grade_id == f"{SKIPPED}_tests")
    return code, skipped, sum(c.metadata.nbgrader.points for c in cells if c.cell_type == "markdown")


@pytest.fixture(scope="module")
def formgrader(tmp_path_factory):
    """A class folder with one autograded submission, and `make formgrader` on it; yields (url, log)."""
    home = tmp_path_factory.mktemp("instructor")
    course = home / "course"
    _, release, model = class_release(LESSON, course)
    model = {grade_id: text for grade_id, text in model.items() if grade_id != SKIPPED}
    submission = course / "submitted" / GRADED_STUDENT / LESSON / f"{LESSON}.ipynb"
    submission.parent.mkdir(parents=True)
    nbformat.write(fill_answers(release, model), submission)
    (submission.parent / "timestamp.txt").write_text("2026-11-20 09:30:00 UTC")
    course_env = {"NNLAB_COURSE_DIR": str(course)}
    for command in [("db", "student", "add", GRADED_STUDENT, "--first-name=Ada", "--last-name=Lovelace"),
                    ("autograde", LESSON)]:
        done = run_tool("nbgrader", *command, "--log-level=WARN", env=course_env)
        assert done.returncode == 0, done.stderr[-3000:]
    with start("formgrader", home) as (url, log):
        yield url, log


def test_instructor_sees_every_lesson_and_a_graded_submission(page, formgrader):
    url, log = formgrader
    page.goto(f"{url}/?token={TOKEN}")  # `make formgrader` lands on the Formgrader
    page.wait_for_url(re.compile(r"/formgrader"))
    table = page.locator("table")
    for lesson in LESSON_IDS:
        table.locator("a", has_text=lesson).first.wait_for()

    # The lesson's submissions: ada's, autograded (all points less those she left), her written answer to grade.
    code, skipped, written = points()
    assert skipped > 0, f"{SKIPPED}_tests is not a graded test cell of {LESSON}"
    page.locator("tr", has_text=LESSON).get_by_role("link", name="1", exact=True).click()
    row = page.locator("tr", has_text=GRADED_STUDENT)
    expect(row).to_contain_text("Lovelace, Ada")
    expect(row).to_contain_text(f"{code - skipped:g} / {code + written:g}")
    expect(row).to_contain_text("needs manual grading")

    # Her scores for the lesson: code and written answers apart.
    row.get_by_role("link", name="Lovelace, Ada").click()
    scores = page.locator("tr", has_text=LESSON)
    expect(scores).to_contain_text(f"{code - skipped:g} / {code:g}")  # the code score
    expect(scores).to_contain_text(f"0 / {written:g}")                 # the written answers, not graded yet

    # Her notebook, cell by cell, as the instructor grades it: the stub she left fails its tests.
    scores.get_by_role("link", name=LESSON).click()
    page.wait_for_url(re.compile(r"/formgrader/submissions/"))
    expect(page.locator("body")).to_contain_text("NotImplementedError")


# ---------------------------------------------------------------------------------------------
# The instructor, and a student's markdown that attacks the formgrader

XSS_STUDENT = "mallory"
XSS_DIR = ROOT / "test-output" / "xss"  # inside the formgrader's root (the repository), ignored by git


def _write_file(name: str) -> str:
    """JavaScript that creates test-output/xss/<name>.txt through the Jupyter contents API, as the instructor."""
    return ("fetch('/api/contents/test-output/xss/" + name + ".txt', {method: 'PUT', headers: {'X-XSRFToken': "
            "(document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '', 'Content-Type': 'application/json'}, "
            "body: JSON.stringify({type: 'file', format: 'text', content: 'written by a student'})})")


XSS_ANSWER = f"""The gradient shrinks: $\\sigma'(z) \\le 1/4$ at every layer, so $\\prod_l \\sigma'(z_l) \\to 0$.

<img src=x onerror="{_write_file('img')}">
<script>{_write_file('script')}</script>
<svg onload="{_write_file('svg')}"><circle r="1"></circle></svg>

[my notes](javascript:{_write_file('link')})
"""
PAYLOAD_FILES = {"img.txt", "script.txt", "svg.txt"}  # what the unsanitised page writes by itself


@pytest.fixture(scope="module")
def attacked_formgrader(tmp_path_factory):
    """A class graded by the pipeline with one student's written answer full of script; `make formgrader` on it."""
    from nbgrader.api import Gradebook

    from test_autograder_class import needs_bwrap
    needs_bwrap()
    home = tmp_path_factory.mktemp("attacked")
    course = home / "course"
    release_dir, release, model = class_release(LESSON, course)
    incoming = home / "incoming" / XSS_STUDENT
    incoming.mkdir(parents=True)
    written = next(c.metadata.nbgrader["grade_id"] for c in release.cells if c.cell_type == "markdown"
                   and c.metadata.get("nbgrader", {}).get("solution"))  # the lesson's first written answer
    nbformat.write(fill_answers(release, {**model, written: XSS_ANSWER}), incoming / f"{LESSON}.ipynb")
    graded = run_tool("python", "-m", "autograder", "grade", LESSON, incoming.parent, "--workers=1",
                      f"--release-dir={release_dir}", env={"NNLAB_COURSE_DIR": str(course)})
    assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook_id = gradebook.find_submission_notebook(LESSON, LESSON, XSS_STUDENT).id
    shutil.rmtree(XSS_DIR, ignore_errors=True)
    XSS_DIR.mkdir(parents=True)
    try:
        with start("formgrader", home) as (url, log):
            yield url, notebook_id
    finally:
        shutil.rmtree(XSS_DIR, ignore_errors=True)


def _written() -> set[str]:
    return {p.name for p in XSS_DIR.iterdir()}


def test_a_students_markdown_runs_nothing_in_the_formgrader(page, attacked_formgrader):
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    url, notebook_id = attacked_formgrader
    requests, dialogs = [], []
    page.on("request", lambda request: requests.append(f"{request.method} {request.url}"))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    # The control: the same markdown, rendered as nbconvert renders it but not sanitised, on the
    # formgrader's own page, writes its files. The attack is real, and this test can see it.
    page.goto(f"{url}/formgrader?token={TOKEN}")
    page.set_content(markdown2html_mistune(XSS_ANSWER))
    expect(page.locator("body")).to_contain_text("The gradient shrinks")
    for _ in range(100):
        if _written() >= PAYLOAD_FILES:
            break
        page.wait_for_timeout(100)
    assert _written() >= PAYLOAD_FILES, f"the unsanitised page wrote {_written()}; requests: {requests[-5:]}"
    for path in XSS_DIR.iterdir():
        path.unlink()

    # The student's submission as the instructor grades it: text and math, nothing else.
    requests.clear()
    page.goto(f"{url}/formgrader/submissions/{notebook_id}/?index=0&token={TOKEN}")
    answer = page.locator(".nnlab-student-markdown")
    expect(answer).to_contain_text("The gradient shrinks")
    answer.get_by_text("my notes").click()  # a link without its javascript: target
    page.wait_for_timeout(3000)             # time for an onerror, an onload or a fetch to happen
    assert _written() == set(), _written()
    assert dialogs == []
    contacted = [r for r in requests if "test-output" in r or r.split()[1].rstrip("/").endswith("/x")
                 or ("/api/contents" in r and not r.startswith("GET"))]
    assert contacted == [], contacted
