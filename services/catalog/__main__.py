from puhui.catalog.server import main

main()
