from fsdbt.cli import main

main()
