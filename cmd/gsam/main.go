// Command gsam runs Grounded-SAM from the command line: open-vocabulary
// detection with Grounding DINO, segmentation with SAM, both together, the
// parity check against reference dumps, and the benchmarks.
//
//	gsam ground  --image photo.jpg --text "cat . remote control ." --out out/
//	gsam detect  --image photo.jpg --text "cat ." --out out/
//	gsam segment --image photo.jpg --box 10,20,200,300 --point 50,60 --out out/
//	gsam verify  ../shared/fixtures/gdino_swin_single
//	gsam bench   --random-weights
//
// Exit status: 0 success, 1 failure of the work itself (a verify mismatch,
// an unreadable image), 2 bad usage.
package main

import (
	"fmt"
	"os"
)

const usage = `gsam — Grounded-SAM in pure Go: text-prompted detection (Grounding DINO) and segmentation (SAM).

Usage:
  gsam <command> [flags]

Commands:
  ground    detect objects named by a text prompt and segment each one
  detect    detect objects named by a text prompt (boxes, scores, labels)
  segment   segment objects given points and/or boxes
  verify    compare this implementation with a reference dump folder
  bench     time the full-size models (random weights: nothing to download)

Run 'gsam <command> --help' for the flags of each command.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	var code int
	switch cmd {
	case "verify":
		code = runVerify(args)
	case "ground", "detect", "segment", "bench":
		code = runPipeline(cmd, args)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "gsam: unknown command %q\n\n%s", cmd, usage)
		code = 2
	}
	os.Exit(code)
}
