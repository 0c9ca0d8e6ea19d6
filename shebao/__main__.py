from shebao.cli import main

main()
