"""`batchsim prices import --region R [--sizes ...] --out FILE`: Azure Retail Prices API → catalog file."""

from __future__ import annotations

from pathlib import Path

import typer

from batchsim.cli.app import app
from batchsim.cli.errors import fail

prices_app = typer.Typer(help="VM prices: import from the Azure Retail Prices API.", no_args_is_help=True)
app.add_typer(prices_app, name="prices")


@prices_app.command("import")
def import_command(
    region: str = typer.Option(..., "--region", help="Azure region, as armRegionName (eastus, westeurope, ...)."),
    sizes: str | None = typer.Option(None, "--sizes", help="Comma-separated VM sizes (default: every size)."),
    out: Path = typer.Option(..., "--out", help="The catalog file to write, or - for stdout."),
    endpoint: str = typer.Option("https://prices.azure.com/api/retail/prices", "--endpoint", help="API address."),
) -> None:
    """Fetch consumption prices (dedicated and Spot, Linux and Windows) for a region into a catalog file."""
    from batchsim.cost.retail import RetailPricesError, import_prices
    from batchsim.files import STDOUT

    size_list = [s.strip() for s in sizes.split(",") if s.strip()] if sizes else None
    try:
        count = import_prices(region, out, size_list, endpoint=endpoint)
    except RetailPricesError as exc:
        fail(f"prices import: {exc}; nothing was written")
    except OSError as exc:
        fail(f"prices import: cannot write {out}: {exc.strerror}")
    # With `--out -` the catalog alone is on stdout; the status line goes to stderr (as `report --out -`).
    where = "stdout" if str(out) == STDOUT else str(out)
    typer.echo(f"{count} price rows for {region} written to {where}", err=str(out) == STDOUT)
