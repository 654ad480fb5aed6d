from citywifi.cli import main

main()
