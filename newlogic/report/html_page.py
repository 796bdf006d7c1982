"""The report's landing view: per ablation its findings, headline table and robustness curves, as HTML.

``newlogic landing`` draws each ablation's robustness curves (``newlogic.figures.robustness``), then
writes, from each ablation's ``summary.json`` (``newlogic.report.findings``), one self-contained
HTML fragment (the robustness figure inlined as a ``data:`` URI, no external
URL) and wraps it in ``landing.rst``: the Snakefile's workflow-level ``report:`` description, which
Snakemake's report shows beside the rule graph on its first screen. Every data string goes through
``html_text`` plus brace escaping (``{`` → ``&#123;``), so neither HTML nor the Jinja template that
Snakemake renders the description with can be injected; the fragment sits in a ``{% raw %}`` block.
No torch.
"""

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from newlogic.config_file import parse_json_text
from newlogic.errors import UserError
from newlogic.names import check_safe_name
from newlogic.repo_files import SUMMARY_SCHEMA
from newlogic.report.escape import html_text
from newlogic.report.findings import (
    Cell,
    CheckRecords,
    HeadlineRow,
    column_heading,
    findings,
    headline_rows,
    percent,
    threat_keys,
)

LANDING_ID = "nl-landing"
# Snakemake's report puts the description in a `prose max-w-lg` column (32 rem): the landing view widens it
# and its content pane centres vertically, which would cut off the top of a view taller than the screen; the rule
# graph beside it moves below, so that the headline table and the figure have the width
STYLE = f"""<style>
.max-w-lg:has(#{LANDING_ID}) {{ max-width: 70rem; }}
.h-screen.overflow-auto:has(#{LANDING_ID}) {{ align-items: flex-start; }}
.gap-3:has(#{LANDING_ID}) {{ flex-wrap: wrap; }}
#{LANDING_ID} {{ font-size: 13px; line-height: 1.35; }}
#{LANDING_ID} h2 {{ margin: 0.2em 0 0.3em; font-size: 1.25em; }}
#{LANDING_ID} ul {{ margin: 0.2em 0 0.5em; }}
#{LANDING_ID} li {{ margin: 0; }}
#{LANDING_ID} .nl-row {{ display: flex; flex-wrap: wrap; gap: 0.8em; align-items: flex-start; }}
#{LANDING_ID} table {{ border-collapse: collapse; margin: 0; width: auto; font-size: 12px; }}
#{LANDING_ID} th, #{LANDING_ID} td {{ border: 1px solid #cbd5e1; padding: 2px 5px; text-align: left;
  white-space: nowrap; vertical-align: top; }}
#{LANDING_ID} th {{ background: #f1f5f9; }}
#{LANDING_ID} img {{ margin: 0; max-width: 24rem; height: auto; }}
#{LANDING_ID} .nl-scroll {{ overflow-x: auto; max-width: 68rem; }}
#{LANDING_ID} .nl-flagged {{ color: #b91c1c; font-weight: 600; }}
</style>"""


def text(value: object) -> str:
    """``value`` as HTML text that neither HTML nor Jinja reads as markup (``html_text``, braces as entities)."""
    return html_text(str(value)).replace("{", "&#123;").replace("}", "&#125;")


def _anchor(ablation: str, model: str) -> str:
    return text(f"nl-{ablation}-{model}")


def _cell_html(cell: Cell | None) -> str:
    return "<td>–</td>" if cell is None else f"<td>{text(cell.text)}</td>"


def headline_table(ablation: str, rows: Sequence[HeadlineRow], keys: Sequence[tuple[str, float]]) -> str:
    """Model, clean accuracy, the worst case per (threat, ε) with interval and n, and the verdict (linked)."""
    head = "".join(f"<th>{text(column_heading(rows, key))} (%)</th>" for key in keys)
    body = []
    for row in rows:
        clean = "–" if row.clean is None else percent(row.clean)
        cells = "".join(_cell_html(row.cells.get(key)) for key in keys)
        flagged = ' class="nl-flagged"' if row.flags else ""
        verdict = f'<a href="#{_anchor(ablation, row.name)}"{flagged}>{text(row.verdict)}</a>'
        body.append(f"<tr><td>{text(row.label)}</td><td>{text(clean)}</td>{cells}<td>{verdict}</td></tr>")
    return (f'<table class="nl-headline"><thead><tr><th>Model</th><th>Clean (%)</th>{head}<th>Verdict</th></tr>'
            f"</thead><tbody>{''.join(body)}</tbody></table>")


def full_table(summary: Mapping[str, Any]) -> str:
    """Every attack setting of the ablation: per model its pooled accuracy, 95 % interval and n (in %)."""
    settings = list(summary["settings"])
    head = "".join(f"<th>{text(setting)}</th>" for setting in settings)
    body = []
    for model in summary["models"]:
        by_setting = {attack["setting"]: attack for attack in model["attacks"]}
        cells = []
        for setting in settings:
            attack = by_setting.get(setting)
            if attack is None:
                cells.append("<td>–</td>")
                continue
            low, high = attack["pooled"]["interval"]
            cells.append(f"<td>{text(percent(attack['pooled']['accuracy']))} "
                         f"[{text(percent(low))}, {text(percent(high))}] n={int(attack['pooled']['n_samples'])}</td>")
        body.append(f"<tr><td>{text(model['label'])}</td>{''.join(cells)}</tr>")
    return (f'<div class="nl-scroll"><table class="nl-full"><thead><tr><th>Model</th>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")




def _seed_checks(seed: int, checks: Mapping[str, Any] | None) -> str:
    """One seed's checks: its verdict, each check's status, what it tests and its evidence, the settings checked."""
    if checks is None:
        return f"<p>seed {seed}: no checks.json</p>"
    rows = "".join(f"<tr><td>{text(check['check'])}</td><td>{text(check['status'])}</td>"
                   f"<td>{text(check.get('comparisons', ''))}</td><td>{text(check.get('description', ''))}</td>"
                   f"<td>{text(check.get('reason') or '')}</td></tr>" for check in checks.get("checks", []))
    cells = "; ".join(f"{setting}: {cell['verdict']}" for setting, cell in (checks.get("cells") or {}).items())
    return (f"<p><b>seed {seed}: {text(checks.get('verdict_text', checks.get('verdict', '')))}</b>. Settings "
            f"compared: {text(', '.join(checks.get('results', [])))}. Cells: {text(cells)}.</p>"
            '<div class="nl-scroll"><table><thead><tr><th>Check</th><th>Status</th><th>Comparisons</th>'
            f"<th>What it tests</th><th>Evidence</th></tr></thead><tbody>{rows}</tbody></table></div>")


def checks_section(summary: Mapping[str, Any], checks: CheckRecords | None = None) -> str:
    """Per model, behind the verdict's link (an anchor inside its ``<details>``, which the browser opens on
    following it): the verdict and flags of ``summary.json`` and, given ``checks``, each seed's checks."""
    parts = []
    for model in summary["models"]:
        masking = model["masking"]
        flags = ", ".join(masking.get("flags") or []) or "none"
        runs = (checks or {}).get(model["name"], {})
        seeds = "".join(_seed_checks(int(seed), record) for seed, record in runs.items())
        parts.append(f"<details><summary>{text(model['label'])}: {text(masking['verdict'])}</summary>"
                     f'<div id="{_anchor(summary["ablation"], model["name"])}"><p>checks flagged in any seed: '
                     f"{text(flags)}</p>{seeds}</div></details>")
    return "".join(parts)


def ablation_section(summary: Mapping[str, Any], figure_png: bytes | None, checks: CheckRecords | None = None
                     ) -> str:
    """One ablation's block: heading, findings, the headline table beside the robustness curves, then the rest."""
    rows = headline_rows(summary)
    keys = threat_keys(summary)
    title = summary.get("caption") or summary["ablation"]
    sentences = "".join(f"<li>{text(sentence)}</li>" for sentence in findings(summary, checks))
    figure = ""
    if figure_png is not None:
        # wrapped: docutils refuses lines over 10,000 characters, and a URL parser drops the newlines
        uri = "data:image/png;base64,\n" + base64.encodebytes(figure_png).decode("ascii").strip()
        figure = (f'<img src="{uri}" alt="{text("Robustness curves: " + str(title))}" '
                  'title="worst case per ε with its pooled 95 % Clopper–Pearson interval (band); '
                  'dashed: the strongest single attack">')
    names = [summary["ablation"]] if title != summary["ablation"] else []
    names.append(summary.get("dataset", ""))
    return (f'<section class="nl-ablation"><h2>{text(title)} <small>({text(", ".join(names))})</small></h2>'
            f"<ul>{sentences}</ul>"
            f'<div class="nl-row">{headline_table(summary["ablation"], rows, keys)}{figure}</div>'
            f"<details><summary>Full table: every attack setting</summary>{full_table(summary)}</details>"
            f"<details><summary>Checks per model</summary>{checks_section(summary, checks)}</details>"
            "</section>")


Section = tuple[Mapping[str, Any], bytes | None, CheckRecords | None]  # summary, robustness PNG, checks


def landing_fragment(sections: Sequence[Section]) -> str:
    """The landing view for (summary, robustness PNG, checks) triples, one section per ablation."""
    body = "".join(ablation_section(summary, png, checks) for summary, png, checks in sections)
    return f'{STYLE}<div id="{LANDING_ID}">{body}</div>'


def landing_rst(fragment: str) -> str:
    """``fragment`` as reStructuredText that Snakemake's report renders unchanged: raw HTML in a Jinja raw block.

    A line breaks between adjacent tags (``><``, which escaped text never holds), so that no line
    reaches docutils' limit of 10,000 characters.
    """
    lines = fragment.replace("><", ">\n<").splitlines()
    indented = "\n".join(f"   {line}" if line else "" for line in lines)
    return f"{{% raw %}}\n.. raw:: html\n\n{indented}\n\n{{% endraw %}}\n"



def load_summary(path: Path) -> dict[str, Any]:
    """An ablation's ``summary.json``, refused (one line naming the file) unless valid against its schema."""
    try:
        summary = parse_json_text(Path(path).read_text(encoding="utf-8"), f"--summary {path}")
        jsonschema.validate(summary, yaml.safe_load(SUMMARY_SCHEMA.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"--summary {path}: cannot read a summary.json ({error})") from None
    except jsonschema.ValidationError as error:
        where = "/".join(str(part) for part in error.absolute_path) or "top level"
        raise UserError(f"--summary {path}: not a summary.json of schema {SUMMARY_SCHEMA.name} "
                        f"({where}: {error.message})") from None
    check_safe_name(summary["ablation"], "ablation")
    return dict(summary)


def write_landing(sections: Sequence[Section], out: Path) -> Path:
    """``out``: the landing view's rst (``landing_rst``) for its sections, written atomically."""
    from newlogic.store.atomic import atomic_write_text

    out.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(out, landing_rst(landing_fragment(sections)))
