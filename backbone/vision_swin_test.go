package backbone

import (
	"context"
	"fmt"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
)

// TestSwinStages feeds the stored pixel values through the blocks one by
// one and compares every stored intermediate.
//
// It runs twice: with the default chunk size (the fixtures' maps fit in one
// chunk) and with chunks of 61 tokens, which cut the attention into single
// windows and the MLP and patch merging into blocks that end mid-image.
func TestSwinStages(t *testing.T) {
	for _, chunk := range []int{swinChunkRows, 61} {
		t.Run(fmt.Sprintf("chunk%d", chunk), func(t *testing.T) {
			defer func(old int) { swinChunkRows = old }(swinChunkRows)
			swinChunkRows = chunk
			testSwinStages(t)
		})
	}
}

func testSwinStages(t *testing.T) {
	for _, dir := range []string{"gdino_swin_single", "gdino_swin_batch"} {
		t.Run(dir, func(t *testing.T) {
			v := loadVision(t, dir)
			s := v.Backbone.(*Swin)
			f := fixture.Tensors(t, dir+"/case/tensors.safetensors")
			px, _ := inputs(t, f)
			sh := px.Shape()
			B, H, W := sh[0], sh[2], sh[3]
			const pre = "act.model.backbone.conv_encoder.model.swin.encoder."
			checked := 0
			x, h, w := s.embed(nn.Data(px), B, H, W, nil)
			checkStored(t, f, pre+"hidden_states.0", tokens(x, B, h*w, s.Config.EmbedDim), &checked)
			for i := range s.Encoder.Layers {
				st := &s.Encoder.Layers[i]
				for j := range st.Blocks {
					blk := &st.Blocks[j]
					name := fmt.Sprintf("%slayers.%d.blocks.%d", pre, i, j)
					// Feed the stored input of this block so errors do not compound.
					if prev := fmt.Sprintf("%slayers.%d.blocks.%d.0", pre, i, j-1); j > 0 && has(f, prev) {
						copy(x, nn.Data(fixture.Float(t, f, prev)))
					}
					win := blk.WindowSize
					bias := blk.Attention.Self.RelativePositionBias(win)
					checkStored(t, f, name+".attention.relative_position_bias", nn.FromData(bias, 1, blk.Attention.Self.Heads, win*win, win*win), &checked)
					blk.forward(x, B, h, w, nil)
					checkStored(t, f, name+".0", tokens(x, B, h*w, st.Dim), &checked)
				}
				if st.Downsample != nil {
					x, h, w = st.Downsample.forward(x, B, h, w, nil)
					checkStored(t, f, fmt.Sprintf("%slayers.%d.downsample", pre, i), tokens(x, B, h*w, 2*st.Dim), &checked)
				}
			}
			if checked < 5 {
				t.Errorf("only %d intermediates stored and compared", checked)
			}
		})
	}
}

// TestSwinBackbone runs the whole backbone and compares its feature maps
// and masks (the conv encoder's outputs).
func TestSwinBackbone(t *testing.T) {
	for _, dir := range []string{"gdino_swin_single", "gdino_swin_batch"} {
		t.Run(dir, func(t *testing.T) {
			v := loadVision(t, dir)
			f := fixture.Tensors(t, dir+"/case/tensors.safetensors")
			px, mask := inputs(t, f)
			maps, err := v.Backbone.Forward(context.Background(), px, mask)
			if err != nil {
				t.Fatal(err)
			}
			if len(maps) != 3 {
				t.Fatalf("%d maps, want 3", len(maps))
			}
			for i, m := range maps {
				fixture.Check(t, f, fmt.Sprintf("act.model.backbone.conv_encoder.model.feature_maps.%d", i), m.Features)
				fixture.Check(t, f, fmt.Sprintf("act.model.backbone.conv_encoder.%d.0", i), m.Features)
				checkMask(t, f, fmt.Sprintf("act.model.backbone.conv_encoder.%d.1", i), m.Mask)
			}
		})
	}
}
