// Segment cuts out what a box (and optionally a point) points at with SAM,
// draws the mask and prints its predicted IoU and area as JSON.
//
//	go run ./examples/segment -image testdata/chelsea.png -box 50,20,330,300
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/gsam-go/gsam/groundedsam"
	"github.com/gsam-go/gsam/processor"
	"github.com/gsam-go/gsam/render"
	"github.com/gsam-go/gsam/sam"
)

func main() {
	path := flag.String("image", "testdata/chelsea.png", "image to segment")
	boxFlag := flag.String("box", "50,20,330,300", "x0,y0,x1,y1 in image pixels")
	dir := flag.String("sam-dir", "", "local SAM folder (default: download "+groundedsam.DefaultSAM+")")
	out := flag.String("out", "segment.png", "where to write the overlay")
	flag.Parse()
	ctx := context.Background()

	var box [4]float64
	if _, err := fmt.Sscanf(*boxFlag, "%g,%g,%g,%g", &box[0], &box[1], &box[2], &box[3]); err != nil {
		log.Fatalf("-box %q: %v", *boxFlag, err)
	}
	m, proc, err := groundedsam.LoadSAM(ctx, groundedsam.LoadOptions{SAMDir: *dir})
	if err != nil {
		log.Fatal(err)
	}
	img, err := processor.LoadImage(*path)
	if err != nil {
		log.Fatal(err)
	}
	// The predictor embeds the image once; each Predict call is then cheap.
	pred, err := (&groundedsam.Pipeline{SAM: m, SAMProcessor: proc}).Predictor(ctx, img)
	if err != nil {
		log.Fatal(err)
	}
	res, err := pred.Predict(ctx, sam.Prompt{Boxes: [][4]float64{box}, Multimask: true})
	if err != nil {
		log.Fatal(err)
	}
	k := groundedsam.BestMask(res.Scores[0]) // of the three candidates
	mask := res.Masks[0][k]
	overlay, err := render.Overlay(img, []render.Annotation{{Box: box, Score: float64(res.Scores[0][k]), Mask: mask.Pix}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := render.Save(*out, overlay); err != nil {
		log.Fatal(err)
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{"box": box, "iou": res.Scores[0][k], "area": mask.Area()})
}
