"""`python -m puhui.federation [serve|join-code NODE|remove NODE|anchor]`."""

from puhui.federation.cli import main

main()
