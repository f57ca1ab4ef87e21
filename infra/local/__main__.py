from infra.local.runtime import main

main()
