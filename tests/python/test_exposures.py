"""The exposures say which consumer reads which folder, and that agrees with where the driver puts each mart: a
mart with a column tagged pii goes to the activation release only, every other mart to the BI release."""

from __future__ import annotations

from pathlib import Path

import yaml

MARTS = Path(__file__).resolve().parents[2] / "models" / "marts"


def _marts() -> dict[str, bool]:
    """mart -> has a column tagged pii, from every YAML file under models/marts."""
    found = {}
    for path in MARTS.rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            columns = model.get("columns", [])
            found[model["name"]] = any("pii" in (c.get("tags") or []) for c in columns)
    return found


def _exposures() -> list[dict]:
    return yaml.safe_load((MARTS / "_marts__exposures.yml").read_text())["exposures"]


def test_every_exposure_says_which_folder_it_reads_and_reads_only_marts_meant_for_it():
    personal = _marts()
    assert personal["campaign_audiences"] and personal["abandoned_cart_reminders"]
    assert not personal["customer_lifecycle"]
    for exposure in _exposures():
        reads = exposure["config"]["meta"]["reads"]
        models = [ref.removeprefix("ref('").removesuffix("')") for ref in exposure["depends_on"]]
        assert reads in ("release", "activation"), exposure["name"]
        for model in models:
            assert personal[model] == (reads == "activation"), (exposure["name"], model)


def test_every_mart_with_emails_has_an_activation_consumer():
    read_by_activation = {
        ref.removeprefix("ref('").removesuffix("')")
        for exposure in _exposures()
        if exposure["config"]["meta"]["reads"] == "activation"
        for ref in exposure["depends_on"]
    }
    assert read_by_activation == {name for name, pii in _marts().items() if pii}
