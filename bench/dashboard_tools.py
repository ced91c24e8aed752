"""Post-processing of the asv dashboard: make it open from disk, and check its contents.

    python bench/dashboard_tools.py embed bench/html      # after `asv publish`
    python bench/dashboard_tools.py check bench           # every benchmark published?

**embed.** asv's page loads its data (``info.json``, ``index.json``, ``graphs/**.json``...)
with XMLHttpRequest, which browsers refuse for ``file://`` pages, so the published site
needs a web server (``asv preview``). ``embed`` writes every JSON file of the site into
``asv_embedded_data.js`` and adds a small shim (``asv_file_shim.js``) that answers asv's
``$.ajax`` JSON requests from that data, so ``index.html`` also works when opened straight
from disk (the page still loads jQuery and flot from their CDNs, as asv's page does).

**check.** Compares the suite that asv discovered (``results/benchmarks.json``) with what
was published (``html/index.json`` and its graph files) and with the newest results file of
each environment: every benchmark must be published, and for each commit/environment the
report lists how many parameter combinations have a value, were skipped (``n/a``: e.g.
CUDA without a GPU, a backend not registered at that commit) or failed. Exit status 1 when
a benchmark is missing from the published site or has no results entry at all.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

SHIM_NAME = "asv_file_shim.js"
DATA_NAME = "asv_embedded_data.js"
SHIM = r"""// Added by bench/dashboard_tools.py embed: serve asv's JSON requests from
// asv_embedded_data.js, so that index.html works from file:// (browsers block XHR there).
(function ($) {
  var data = window.ASV_EMBEDDED_JSON || {};
  var original = $.ajax;
  $.ajax = function (options) {
    var url = (typeof options === "string" ? options : options.url) || "";
    var key = url.split("?")[0].replace(/^\.\//, "");
    try { key = decodeURIComponent(key); } catch (e) { /* keep it as it is */ }
    if (Object.prototype.hasOwnProperty.call(data, key)) {
      var deferred = $.Deferred();
      setTimeout(function () { deferred.resolve(data[key], "success", null); }, 0);
      return deferred.promise();
    }
    return original.apply(this, arguments);
  };
})(jQuery);
"""


def embed(html_dir: Path) -> int:
    """Embed every JSON file of the published site and hook the shim into ``index.html``."""
    index_html = html_dir / "index.html"
    if not index_html.is_file():
        print(f"embed: {index_html} not found; run `asv publish` first", file=sys.stderr)
        return 1
    payload = {}
    for path in sorted(html_dir.rglob("*.json")):
        payload[path.relative_to(html_dir).as_posix()] = json.loads(path.read_text())
    (html_dir / DATA_NAME).write_text("window.ASV_EMBEDDED_JSON = " + json.dumps(payload, separators=(",", ":"))
                                      + ";\n")
    (html_dir / SHIM_NAME).write_text(SHIM)
    page = index_html.read_text()
    if SHIM_NAME not in page:
        tags = (f'<script type="text/javascript" src="{DATA_NAME}"></script>\n    '
                f'<script type="text/javascript" src="{SHIM_NAME}"></script>\n    ')
        match = re.search(r'<script[^>]*\n?\s*src="asv\.js"', page)
        if match is None:
            print("embed: asv.js is not loaded by index.html; this asv version's page is unknown", file=sys.stderr)
            return 1
        page = page[:match.start()] + tags + page[match.start():]
        index_html.write_text(page)
    size = (html_dir / DATA_NAME).stat().st_size
    print(f"embed: {len(payload)} JSON files ({size / 1e6:.1f} MB) in {html_dir / DATA_NAME}; "
          f"open file://{index_html.resolve()}")
    return 0


def _load_json(path: Path):
    # asv writes NaN for skipped values, which json accepts (it is not strict JSON).
    return json.loads(path.read_text())


def _classify(values) -> tuple[int, int, int]:
    """(measured, skipped, failed) counts of one benchmark's values in a results file."""
    if not isinstance(values, list):
        values = [values]
    measured = skipped = failed = 0
    for v in values:
        if v is None:
            failed += 1
        elif isinstance(v, float) and math.isnan(v):
            skipped += 1
        else:
            measured += 1
    return measured, skipped, failed


def _result_files(results_dir: Path, latest: bool) -> list[tuple[str, Path, dict]]:
    """``(machine, file, data)`` of every results file, or of the newest per machine and environment."""
    found = []
    for machine_dir in sorted(p for p in results_dir.iterdir() if p.is_dir()):
        for result_file in sorted(machine_dir.glob("*.json")):
            if result_file.name != "machine.json":
                found.append((machine_dir.name, result_file, _load_json(result_file)))
    if latest:
        newest: dict[tuple[str, str], tuple[str, Path, dict]] = {}
        for machine, path, data in found:
            key = (machine, data.get("env_name", ""))
            if key not in newest or data.get("date", 0) > newest[key][2].get("date", 0):
                newest[key] = (machine, path, data)
        found = sorted(newest.values(), key=lambda item: str(item[1]))
    return found


def check(bench_dir: Path, latest: bool = False) -> int:
    """Print what was published and measured; 1 if a benchmark is missing anywhere.

    With ``latest``, only the newest results file of each machine and environment is
    checked (older files may come from an older suite or a partial ``-b`` run).
    """
    results_dir, html_dir = bench_dir / "results", bench_dir / "html"
    suite_file = results_dir / "benchmarks.json"
    if not suite_file.is_file():
        print(f"check: {suite_file} not found: run `nox -s asv` first", file=sys.stderr)
        return 1
    suite = {k for k in _load_json(suite_file) if k != "version"}
    problems = []
    index_file = html_dir / "index.json"
    if index_file.is_file():
        published = set(_load_json(index_file).get("benchmarks", {}))
        for name in sorted(suite - published):
            problems.append(f"not in the published index.json: {name}")
        graph_dir = html_dir / "graphs"
        # one graph per benchmark and environment, besides the summary page's
        graphs = {p.stem for p in graph_dir.rglob("*.json") if "summary" not in p.relative_to(graph_dir).parts}
        for name in sorted(suite):
            if name not in graphs:
                problems.append(f"no graph file published for {name}")
        print(f"published: {len(published & suite)} of {len(suite)} benchmarks in {index_file}")
    else:
        problems.append(f"{index_file} not found: run `nox -s dashboard`")
    for machine, result_file, data in _result_files(results_dir, latest):
        columns = data.get("result_columns", ["result"])
        at = columns.index("result")
        results = data.get("results", {})
        totals = [0, 0, 0]
        for name in sorted(suite):
            if name not in results:
                problems.append(f"{machine}/{result_file.name}: no entry for {name}")
                continue
            for i, n in enumerate(_classify(results[name][at])):
                totals[i] += n
        print(f"{machine}/{result_file.name}: {len(set(results) & suite)} of {len(suite)} benchmarks; "
              f"parameter combinations: {totals[0]} measured, {totals[1]} skipped (n/a), {totals[2]} failed")
    for line in problems:
        print(f"PROBLEM: {line}")
    print("check: OK, every benchmark is published and has results" if not problems else
          f"check: {len(problems)} problem(s)")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("embed", help="make the published site open from disk").add_argument("html_dir", type=Path)
    checker = sub.add_parser("check", help="check results and site contain every benchmark")
    checker.add_argument("bench_dir", type=Path)
    checker.add_argument("--latest", action="store_true", help="only the newest results file per environment")
    args = parser.parse_args(argv)
    return embed(args.html_dir) if args.command == "embed" else check(args.bench_dir, args.latest)


if __name__ == "__main__":
    sys.exit(main())
