"""``python -m sheets_ai`` runs the command line, exactly like the ``sheets-ai`` script."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="sheets-ai")
