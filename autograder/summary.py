"""The table printed at the end of a run: students, mean score, and failures by reason."""

from __future__ import annotations

from collections import Counter


def table(results: list[dict]) -> str:
    """A plain-text summary of ``results`` (as the pipeline's per-student result files hold them)."""
    if not results:
        return "no submissions graded"
    maximum = results[0]["max_score"]
    mean = sum(r["score"] for r in results) / len(results)
    reasons = Counter(reason["key"] for r in results for reason in r["reasons"])
    lines = [f"students: {len(results)}",
             f"mean:     {mean:.2f} / {maximum:g}",
             f"full marks (autograded): {sum(r['score'] == maximum for r in results)}",
             "failures by reason:" if reasons else "failures by reason: none"]
    lines += [f"  {key:<22} {count:>4}" for key, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))]
    lines += ["", f"{'student':<24} {'score':>7}  reasons"]
    for r in sorted(results, key=lambda r: r["student"]):
        keys = ", ".join(reason["key"] for reason in r["reasons"]) or "ok"
        lines.append(f"{r['student']:<24} {r['score']:>7g}  {keys}")
    return "\n".join(lines)
