"""``python -m gateway.cli``: how ``run`` starts its worker and web children."""

from gateway.cli import main

main()
