from puhui.identity.cli import main

main()
