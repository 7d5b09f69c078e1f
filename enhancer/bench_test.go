package enhancer

import (
	"math/rand"
	"testing"
	"time"

	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/tokenize"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

// tinyConfig is grounding-dino-tiny's encoder.
var tinyConfig = Config{
	DModel: 256, EncoderLayers: 6, EncoderAttentionHeads: 8, EncoderNPoints: 4,
	EncoderFFNDim: 2048, NumFeatureLevels: 4, LayerNormEps: 1e-5, ActivationFunction: "relu",
}

// tinyShapes are the four levels of an 800×1333 image (17,821 tokens).
var tinyShapes = [][2]int{{100, 167}, {50, 84}, {25, 42}, {13, 21}}

func randTensor(r *rand.Rand, shape ...int) *tensor.Dense {
	t := nn.New(shape...)
	d := nn.Data(t)
	for i := range d {
		d[i] = float32(r.NormFloat64())
	}
	return t
}

// tinyInputs builds full-size encoder inputs for one image and a caption of
// T tokens ("[CLS] a b . c d . … [SEP]").
func tinyInputs(T int) Inputs {
	r := rand.New(rand.NewSource(1))
	S := 0
	var starts []int
	for _, s := range tinyShapes {
		starts = append(starts, S)
		S += s[0] * s[1]
	}
	d := tinyConfig.DModel
	ids := make([]int64, T)
	for i := range ids {
		ids[i] = 2000 + int64(i)
		if i%3 == 0 {
			ids[i] = 1012
		}
	}
	ids[0], ids[T-1] = 101, 102
	selfMask, posIDs := tokenize.TextSelfAttentionMask(ids)
	mask := make([]bool, S)
	for i := range mask {
		mask[i] = true
	}
	textMask := make([]bool, T)
	for i := range textMask {
		textMask[i] = true
	}
	ratios := make([]float32, len(tinyShapes)*2)
	for i := range ratios {
		ratios[i] = 1
	}
	return Inputs{
		Vision: randTensor(r, 1, S, d), VisionPos: randTensor(r, 1, S, d), VisionMask: mask,
		SpatialShapes: tinyShapes, LevelStart: starts, ValidRatios: ratios,
		Text: randTensor(r, 1, T, d), TextMask: textMask, TextSelfAttention: selfMask, TextPositionIDs: posIDs,
	}
}

// BenchmarkEncoderLayerTiny runs one full-size encoder layer (random
// weights) on an 800×1333 image and a 9-token caption; the reference runs
// six such layers in 6.6 s on the dev machine.
func BenchmarkEncoderLayerTiny(b *testing.B) {
	in := tinyInputs(9)
	layer := NewEncoderLayer(tinyConfig)
	weights.Randomize(&layer, 1)
	B := 1
	ref := ReferencePoints(in.SpatialShapes, in.ValidRatios, B)
	textPos := TextPositionEmbedding(in.TextPositionIDs, B, tinyConfig.DModel)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		layer.Forward(in.Vision, in.Text, &in, ref, textPos)
	}
	ms := time.Since(start).Seconds() * 1e3 / float64(b.N)
	b.ReportMetric(ms, "ms/layer")
	b.ReportMetric(ms*float64(tinyConfig.EncoderLayers), "ms/encoder")
}

// BenchmarkEncoderBlocksTiny splits a full-size layer into its blocks.
func BenchmarkEncoderBlocksTiny(b *testing.B) {
	in := tinyInputs(9)
	layer := NewEncoderLayer(tinyConfig)
	weights.Randomize(&layer, 1)
	ref := ReferencePoints(in.SpatialShapes, in.ValidRatios, 1)
	textPos := TextPositionEmbedding(in.TextPositionIDs, 1, tinyConfig.DModel)
	b.Run("fusion", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			layer.Fusion.Forward(in.Vision, in.Text, in.VisionMask, in.TextMask)
		}
	})
	// As the encoder runs it: in place, without the probabilities (the
	// vision update added through the output projection).
	b.Run("fusion_in_place", func(b *testing.B) {
		v := nn.Clone(in.Vision)
		for i := 0; i < b.N; i++ {
			layer.Fusion.forward(v, in.Text, in.VisionMask, in.TextMask, true, false)
		}
	})
	b.Run("text_enhancer", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			layer.TextEnhancer.Forward(in.Text, textPos, in.TextSelfAttention)
		}
	})
	b.Run("deformable_attn", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			layer.Deformable.SelfAttn.Forward(in.Vision, in.VisionPos, in.Vision, in.VisionMask, ref, in.SpatialShapes, in.LevelStart)
		}
	})
	b.Run("deformable_layer", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			layer.Deformable.Forward(in.Vision, in.VisionPos, in.VisionMask, ref, in.SpatialShapes, in.LevelStart)
		}
	})
}

// BenchmarkBiAttention is the full-size image↔text bi-attention (embed
// 1024, 4 heads) for a 9-token caption and for the 256-token maximum.
func BenchmarkBiAttention(b *testing.B) {
	for _, T := range []int{9, 256} {
		b.Run("T"+itoa(T), func(b *testing.B) {
			in := tinyInputs(T)
			m := NewBiMultiHeadAttention(tinyConfig)
			weights.Randomize(&m, 2)
			S := in.Vision.Shape()[1]
			E := tinyConfig.EncoderFFNDim / 2
			d := tinyConfig.DModel
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				m.Forward(in.Vision, in.Text, in.VisionMask, in.TextMask)
			}
			sec := time.Since(start).Seconds() / float64(b.N)
			// Projections (2 from vision, 2 from text, 2 out) and the two
			// score/value products per direction.
			flops := 2.0 * (float64(S)*float64(d)*float64(E)*3 + float64(T)*float64(d)*float64(E)*3 + float64(S)*float64(T)*float64(E)*3)
			b.ReportMetric(sec*1e3, "ms/op")
			b.ReportMetric(flops/sec/1e9, "GFLOP/s")
		})
	}
}
