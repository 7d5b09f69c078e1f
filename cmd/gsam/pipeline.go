package main

import (
	"fmt"
	"os"
)

func runPipeline(cmd string, args []string) int {
	fmt.Fprintf(os.Stderr, "gsam %s: not available yet\n", cmd)
	return 1
}
