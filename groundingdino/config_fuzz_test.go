package groundingdino

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/gsam-go/gsam/backbone"
	"github.com/gsam-go/gsam/internal/fixture"
)

// smallConfig reports whether every size in v is at most limit and every
// list at most 8 long, so that New allocates little (fuzzing must stay fast).
func smallConfig(v reflect.Value, limit int64) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return v.IsNil() || smallConfig(v.Elem(), limit)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() && !smallConfig(v.Field(i), limit) {
				return false
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return true // raw JSON (backbone_config), checked on its own
		}
		if v.Len() > 8 {
			return false
		}
		for i := 0; i < v.Len(); i++ {
			if !smallConfig(v.Index(i), limit) {
				return false
			}
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() <= limit
	case reflect.Float32, reflect.Float64:
		return v.Float() <= float64(limit)
	}
	return true
}

// smallBackbone parses backbone_config as NewVisionBackbone will, with its
// defaults, and reports whether it is small (false when absent: the default
// is the full-size Swin-T).
func smallBackbone(raw json.RawMessage) bool {
	var head struct {
		ModelType string `json:"model_type"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &head) != nil {
		return false
	}
	switch head.ModelType {
	case "swin", "":
		c, err := backbone.ParseSwinConfig(raw)
		return err == nil && smallConfig(reflect.ValueOf(c), 64)
	case "resnet":
		c, err := backbone.ParseResNetConfig(raw)
		return err == nil && smallConfig(reflect.ValueOf(c), 64)
	}
	return true // New refuses it without allocating
}

// tinyConfig is a complete config small enough for New in a fuzz loop.
const tinyConfig = `{"model_type":"grounding-dino","d_model":32,"max_text_len":16,
"backbone_config":{"model_type":"swin","depths":[1,1,1,1],"embed_dim":8,"num_heads":[1,1,1,1],"window_size":2,"image_size":32,"patch_size":4,"out_indices":[2,3,4],"mlp_ratio":2.0},
"text_config":{"model_type":"bert","hidden_size":16,"intermediate_size":16,"num_attention_heads":2,"num_hidden_layers":1,"vocab_size":32,"max_position_embeddings":32,"type_vocab_size":2},
"encoder_layers":1,"encoder_attention_heads":2,"encoder_ffn_dim":16,"encoder_n_points":1,
"decoder_layers":1,"decoder_attention_heads":2,"decoder_ffn_dim":16,"decoder_n_points":1,"num_queries":4,"num_feature_levels":4}`

// FuzzParseConfig feeds arbitrary JSON to ParseConfig. A config it accepts
// and that is small is also allocated with New: a config either fails to
// parse, or New returns a model or an error; nothing panics.
func FuzzParseConfig(f *testing.F) {
	for _, name := range []string{"gdino_swin_single", "gdino_resnet"} {
		if b, err := os.ReadFile(fixture.Dir(f, name, "config.json")); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(tinyConfig))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"d_model":0,"encoder_attention_heads":0}`))
	f.Add([]byte(`{"model_type":"sam"}`))
	f.Add([]byte(`{"d_model":-32,"decoder_layers":-1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseConfig(raw)
		if err != nil {
			if c != nil {
				t.Fatal("config returned with an error")
			}
			return
		}
		if !smallConfig(reflect.ValueOf(c), 64) || !smallBackbone(c.Vision.BackboneConfig) {
			return
		}
		if _, err := New(c); err != nil {
			return
		}
	})
}
