from puhui.data.cli import main

main()
