// Groundedsam detects the objects a text prompt names and segments each one
// (Grounding DINO boxes fed to SAM), writes an overlay and prints the
// detections with COCO RLE masks as JSON.
//
//	go run ./examples/groundedsam -image testdata/chelsea.png -text "cat ."
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"os"

	"github.com/gsam-go/gsam/groundedsam"
	"github.com/gsam-go/gsam/groundingdino"
	"github.com/gsam-go/gsam/processor"
	"github.com/gsam-go/gsam/render"
	"github.com/gsam-go/gsam/rle"
)

func main() {
	path := flag.String("image", "testdata/chelsea.png", "image to search")
	text := flag.String("text", "cat .", `what to find: phrases separated by " . "`)
	modelDir := flag.String("model-dir", "", "local Grounding DINO folder (default: download "+groundedsam.DefaultModel+")")
	samDir := flag.String("sam-dir", "", "local SAM folder (default: download "+groundedsam.DefaultSAM+")")
	out := flag.String("out", "groundedsam.png", "where to write the overlay")
	flag.Parse()
	ctx := context.Background()

	p, err := groundedsam.Load(ctx, groundedsam.LoadOptions{ModelDir: *modelDir, SAMDir: *samDir})
	if err != nil {
		log.Fatal(err)
	}
	img, err := processor.LoadImage(*path)
	if err != nil {
		log.Fatal(err)
	}
	res, err := p.Ground(ctx, img, groundingdino.Prompt{Caption: *text}, groundedsam.Options{CleanLabels: true})
	if err != nil {
		log.Fatal(err)
	}
	var anns []render.Annotation
	var dets []map[string]any
	for _, d := range res.Detections {
		box := [4]float64{float64(d.Box[0]), float64(d.Box[1]), float64(d.Box[2]), float64(d.Box[3])}
		anns = append(anns, render.Annotation{Box: box, Label: d.Label, Score: float64(d.Score), Mask: d.Mask.Pix})
		m, err := rle.Encode(d.Mask.Pix, d.Mask.Height, d.Mask.Width) // pycocotools-compatible
		if err != nil {
			log.Fatal(err)
		}
		dets = append(dets, map[string]any{"box": box, "score": d.Score, "label": d.Label, "mask": m, "iou": d.IoU})
	}
	overlay, err := render.Overlay(img, anns, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := render.Save(*out, overlay); err != nil {
		log.Fatal(err)
	}
	json.NewEncoder(os.Stdout).Encode(dets)
}
