package groundedsam

import _ "embed"

// The Hub config.json of the two default models, so full-size models can be
// built (with random weights, for benchmarks) without downloading anything.
var (
	//go:embed configs/grounding-dino-tiny.json
	GroundingDinoTinyConfig []byte
	//go:embed configs/sam-vit-base.json
	SAMViTBaseConfig []byte
)
