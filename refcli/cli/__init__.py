"""The command-line interface (Typer). Commands parse, call the library, and show results."""
