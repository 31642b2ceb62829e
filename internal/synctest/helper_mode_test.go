package synctest

func runHelper(mode string) int { return 2 }
