from puhui.feedback.server import main

main()
