package hub_test

import (
	"context"
	"fmt"
	"log"
	"path/filepath"

	"github.com/gsam-go/gsam/hub"
)

// Fetch what Grounding DINO needs from the Hub (or find it in the cache
// when HF_HUB_OFFLINE=1) and open files from the snapshot directory.
func ExampleClient_Snapshot() {
	c := hub.NewClient() // HF_ENDPOINT, HF_HUB_CACHE/HF_HOME, HF_TOKEN, HF_HUB_OFFLINE
	dir, err := c.Snapshot(context.Background(), "IDEA-Research/grounding-dino-tiny", "main",
		[]string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
			"vocab.txt", "preprocessor_config.json"},
		[]string{"special_tokens_map.json"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(filepath.Join(dir, "model.safetensors"))
}
