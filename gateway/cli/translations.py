"""``thusong translations status|export|import``: the catalogues as translators and reviewers
work on them (docs/translations.md).

``status`` counts, per language, the strings total / reviewed / draft / missing / over budget.
``export LANG`` writes a gettext PO file (:mod:`menus.po`); ``import FILE [--reviewer NAME]``
takes one back through every check (:mod:`gateway.staff.translations`), prints each refusal and
warning with its line, and exits 1 if any string was refused (the others are taken).
"""

from __future__ import annotations

from pathlib import Path

import click

from gateway.cli.common import runtime_for
from gateway.staff import audit
from gateway.staff.translations import TranslationFileError, import_po
from menus.catalogue import LANGUAGES, Catalogues
from menus.po import export_po
from menus.translation import Files, entries, status
from menus.xliff import export_xliff

COLUMNS = ("total", "reviewed", "draft", "missing", "over_budget")


def _files(menus_dir: Path | None) -> Files:
    return Files() if menus_dir is None else Files(menus_dir / "catalogues", menus_dir / "keywords.yaml")


menus_option = click.option("--menus", "menus_dir", type=click.Path(file_okay=False, path_type=Path),
                            default=None, hidden=True, help="A folder holding catalogues/ and keywords.yaml (tests).")


@click.group("translations")
def translations() -> None:
    """The citizens' texts in eleven languages: review state, export for translators, import."""


@translations.command("status")
@menus_option
def status_cmd(menus_dir: Path | None) -> None:
    """Per language: strings total, reviewed by a native speaker, draft, missing, over budget."""
    files = _files(menus_dir)
    cats = Catalogues.read(files.catalogues)
    click.echo(f"{'language':<14}" + "".join(f"{c.replace('_', ' '):>13}" for c in COLUMNS))
    for lang in LANGUAGES:
        found = status(files, lang, cats)
        click.echo(f"{found.lang + ' ' + found.name:<14}" + "".join(f"{found.counts[c]:>13}" for c in COLUMNS))


@translations.command("export")
@click.argument("lang", type=click.Choice(LANGUAGES))
@click.option("--format", "fmt", type=click.Choice(["po", "xliff"]), default="po", show_default=True,
              help="gettext PO (Poedit, Weblate, Pootle) or XLIFF 2.0 (import reads either by its name: .xlf/.xliff).")
@click.option("--drafts-only", is_flag=True, help="Only the strings not yet reviewed (and missing ones).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here instead of standard output.")
@menus_option
def export_cmd(lang: str, fmt: str, drafts_only: bool, output: Path | None, menus_dir: Path | None) -> None:
    """Write LANG's strings for a translator: key, English, current wording, screen, budget."""
    files = _files(menus_dir)
    cats = Catalogues.read(files.catalogues)
    found = entries(files, lang, cats)
    text = (export_xliff(found, lang, drafts_only) if fmt == "xliff"
            else export_po(found, lang, cats.by_code[lang].name, drafts_only))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@translations.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--reviewer", default=None, help="The native speaker who reviewed the file: strings it "
              "does not mark fuzzy become reviewed by them.")
@menus_option
def import_cmd(file: str, reviewer: str | None, menus_dir: Path | None) -> None:
    """Check every string of FILE and take those that pass; refusals name their line."""
    if reviewer is not None and (not reviewer.strip() or len(reviewer) > 80 or "\n" in reviewer):
        raise click.BadParameter("a name of 1 to 80 characters on one line", param_hint="--reviewer")
    rt = runtime_for()
    try:
        report = import_po(rt, _files(menus_dir), file, reviewer and reviewer.strip(), rt.clock.local().date())
    except TranslationFileError as exc:
        raise click.ClickException(str(exc)) from None
    for finding in report.findings:
        click.echo(str(finding), err=finding.refused)
    click.echo(f"{report.lang}: {len(report.accepted)} strings accepted, {len(report.changed)} changed, "
               f"{len(report.reviewed)} newly reviewed, {len(report.refused)} refused")
    if report.changed or report.reviewed:
        audit.record(rt, audit.CLI, "translation.imported", target=report.lang,
                     detail={"changed": report.changed, "reviewed": report.reviewed, "reviewer": reviewer})
    if report.refused:
        raise SystemExit(1)
