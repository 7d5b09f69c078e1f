// Detect finds the objects a text prompt names with Grounding DINO, draws
// their boxes and prints them as JSON.
//
//	go run ./examples/detect -image testdata/chelsea.png -text "cat ."
package main

import (
	"context"
	"encoding/json"
	"flag"
	"image"
	"log"
	"os"

	"github.com/gsam-go/gsam/groundedsam"
	"github.com/gsam-go/gsam/groundingdino"
	"github.com/gsam-go/gsam/processor"
	"github.com/gsam-go/gsam/render"
)

func main() {
	path := flag.String("image", "testdata/chelsea.png", "image to search")
	text := flag.String("text", "cat .", `what to find: phrases separated by " . "`)
	dir := flag.String("model-dir", "", "local Grounding DINO folder (default: download "+groundedsam.DefaultModel+")")
	out := flag.String("out", "detect.png", "where to write the overlay")
	flag.Parse()
	ctx := context.Background()

	// LoadDetector reads a local folder, or fetches the Hub repo into the cache.
	det, err := groundedsam.LoadDetector(ctx, groundedsam.LoadOptions{ModelDir: *dir})
	if err != nil {
		log.Fatal(err)
	}
	img, err := processor.LoadImage(*path) // any format, EXIF orientation applied
	if err != nil {
		log.Fatal(err)
	}
	// Zero options mean the reference thresholds: box 0.35, text 0.25.
	res, err := det.Detect(ctx, []image.Image{img}, groundingdino.Prompt{Caption: *text}, groundingdino.Options{})
	if err != nil {
		log.Fatal(err)
	}
	var anns []render.Annotation
	for _, d := range res[0] {
		box := [4]float64{float64(d.Box[0]), float64(d.Box[1]), float64(d.Box[2]), float64(d.Box[3])}
		anns = append(anns, render.Annotation{Box: box, Label: d.Label, Score: float64(d.Score)})
	}
	overlay, err := render.Overlay(img, anns, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := render.Save(*out, overlay); err != nil {
		log.Fatal(err)
	}
	json.NewEncoder(os.Stdout).Encode(res[0]) // box, score, label, phrase
}
