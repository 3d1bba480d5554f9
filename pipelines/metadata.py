"""Materialisation metadata a person reads in the Dagster UI."""

from __future__ import annotations

from dagster import MetadataValue

from catalog.harvest import HarvestRun


def run_metadata(run: HarvestRun) -> dict[str, object]:
    """Counts, traffic and notes of a harvest run."""
    metadata: dict[str, object] = {
        "harvest_id": run.harvest_id,
        "status": run.status,
        "mode": run.mode,
        "datasets": run.datasets,
        "requests": run.requests,
        "bytes_received": run.bytes_received,
        "duration_s": round(run.duration_s, 2),
        "warnings": run.warning_count,
        "duplicates_dropped": run.duplicates_dropped,
    }
    if run.since is not None:
        metadata["since"] = run.since.isoformat()
    if run.listed is not None:
        metadata["listed"] = run.listed
    if run.status == "complete":
        metadata |= {
            "added": run.added,
            "modified": run.modified,
            "deleted": run.deleted,
            "distributions": run.distributions,
            "publishers": run.publishers,
        }
    if run.source_count is not None:
        metadata["source_count"] = run.source_count
    if run.error:
        metadata["error"] = run.error
    if run.notes:
        metadata["notes"] = MetadataValue.md("\n".join(f"- {note}" for note in run.notes))
    return metadata


def markdown_table(columns: list[str], rows: list[tuple]) -> str:
    """Query rows as a Markdown table (the UI renders it)."""

    def cell(value: object) -> str:
        return str(value if value is not None else "").replace("|", "\\|")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
