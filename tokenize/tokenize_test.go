package tokenize

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gsam-go/gsam/internal/fixture"
)

type tokCase struct {
	Caption       string   `json:"caption"`
	InputIDs      []int64  `json:"input_ids"`
	TokenTypeIDs  []int64  `json:"token_type_ids"`
	AttentionMask []int64  `json:"attention_mask"`
	Tokens        []string `json:"tokens"`
	PositionIDs   []int64  `json:"position_ids_first256"`
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadCases(t testing.TB) []tokCase {
	var cases []tokCase
	readJSON(t, filepath.Join(fixture.Dir(t, "tokenizer"), "cases.json"), &cases)
	if len(cases) == 0 {
		t.Fatal("cases.json has no cases")
	}
	return cases
}

func loadTok(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := Load(fixture.Dir(t, "tokenizer"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// vocabOnlyTok loads the fixture vocabulary from a folder that holds only
// vocab.txt, to exercise the BertTokenizer defaults.
func vocabOnlyTok(t testing.TB) *Tokenizer {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixture.Dir(t, "tokenizer"), "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestEncodeCases(t *testing.T) {
	cases := loadCases(t)
	for _, src := range []struct {
		name string
		tok  *Tokenizer
	}{{"tokenizer.json", loadTok(t)}, {"vocab.txt", vocabOnlyTok(t)}} {
		pass := 0
		for i, c := range cases {
			e, err := src.tok.Encode(c.Caption)
			if err != nil {
				t.Errorf("%s case %d %q: %v", src.name, i, c.Caption, err)
				continue
			}
			ok := true
			for _, f := range []struct {
				name      string
				got, want any
			}{
				{"input_ids", e.InputIDs, c.InputIDs},
				{"token_type_ids", e.TokenTypeIDs, c.TokenTypeIDs},
				{"attention_mask", e.AttentionMask, c.AttentionMask},
				{"tokens", e.Tokens, c.Tokens},
			} {
				if !reflect.DeepEqual(f.got, f.want) {
					t.Errorf("%s case %d %q %s:\n got %v\nwant %v", src.name, i, c.Caption, f.name, f.got, f.want)
					ok = false
				}
			}
			if len(e.Offsets) != e.Len() {
				t.Errorf("%s case %d: %d offsets for %d tokens", src.name, i, len(e.Offsets), e.Len())
				ok = false
			}
			if ok {
				pass++
			}
		}
		t.Logf("%s: %d/%d cases.json cases match", src.name, pass, len(cases))
	}
}

func TestOffsets(t *testing.T) {
	tok := loadTok(t)
	text := "  Cafés and 猫,[SEP] x"
	e, err := tok.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range e.Offsets {
		got = append(got, text[o[0]:o[1]])
	}
	// c ##a ##f ##es each cover part of "Cafés": é (2 bytes) belongs to ##es.
	want := []string{"", "C", "a", "f", "és", "and", "猫", ",", "[SEP]", "x", ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("offset texts\n got %q\nwant %q\ntokens %q", got, want, e.Tokens)
	}
	if len(e.InputIDs) != len(want) {
		t.Fatalf("%d tokens, want %d", len(e.InputIDs), len(want))
	}
	if e.InputIDs[8] != SepID {
		t.Errorf("literal [SEP] in text gave id %d, want %d", e.InputIDs[8], SepID)
	}
}

func TestMasksAndPositionIDs(t *testing.T) {
	cases := loadCases(t)
	tok := loadTok(t)
	f := fixture.Tensors(t, "tokenizer/masks.safetensors")
	n := 0
	for _, key := range f.Keys() {
		var i int
		if _, err := fmt.Sscanf(key, "%d.text_self_attention_mask", &i); err != nil || i < 0 || i >= len(cases) {
			t.Errorf("unexpected key %q", key)
			continue
		}
		want, shape := fixture.Int(t, f, key)
		e, err := tok.Encode(cases[i].Caption)
		if err != nil {
			t.Fatal(err)
		}
		e = e.Truncate(MaxTextLen)
		mask, pos := TextSelfAttentionMask(e.InputIDs)
		if len(shape) != 2 || shape[0] != e.Len() || shape[1] != e.Len() {
			t.Errorf("case %d: mask shape %v, encoding has %d tokens", i, shape, e.Len())
			continue
		}
		bad := 0
		for k := range want {
			if mask[k] != (want[k] != 0) {
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("case %d %q: %d mask entries differ", i, cases[i].Caption, bad)
		}
		if !reflect.DeepEqual(pos, cases[i].PositionIDs) {
			t.Errorf("case %d position ids\n got %v\nwant %v", i, pos, cases[i].PositionIDs)
		}
		n++
	}
	if n != len(cases) {
		t.Errorf("checked %d masks, have %d cases", n, len(cases))
	}
	t.Logf("%d masks and position id rows match", n)
}

func TestMaskPadding(t *testing.T) {
	// [CLS] a cat . [SEP] [PAD] [PAD]: padding attends only to itself and
	// the [SEP] before it is its own one-token block.
	ids := []int64{101, 1037, 1141, 1012, 102, 0, 0}
	mask, pos := TextSelfAttentionMask(ids)
	rows := []string{"1000000", "0111000", "0111000", "0111000", "0000100", "0000010", "0000001"}
	for i, r := range rows {
		for j := range r {
			if mask[i*len(ids)+j] != (r[j] == '1') {
				t.Fatalf("mask[%d][%d] = %v, want row %s", i, j, mask[i*len(ids)+j], r)
			}
		}
	}
	if want := []int64{0, 0, 1, 0, 0, 0, 0}; !reflect.DeepEqual(pos, want) {
		t.Errorf("position ids %v, want %v", pos, want)
	}
	if m, p := TextSelfAttentionMask(nil); len(m) != 0 || len(p) != 0 {
		t.Error("empty ids should give empty mask")
	}
}

func TestLabelsToCaption(t *testing.T) {
	var cases []struct {
		Labels   []string `json:"labels"`
		InputIDs []int64  `json:"input_ids"`
	}
	readJSON(t, filepath.Join(fixture.Dir(t, "tokenizer"), "labels_to_caption.json"), &cases)
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	tok := loadTok(t)
	for i, c := range cases {
		e, err := tok.Encode(CaptionFromLabels(c.Labels))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(e.InputIDs, c.InputIDs) {
			t.Errorf("case %d %q: got %v want %v", i, c.Labels, e.InputIDs, c.InputIDs)
		}
		lb, err := tok.EncodeLabels(c.Labels)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(lb.Encoding.InputIDs, c.InputIDs) {
			t.Errorf("EncodeLabels case %d differs", i)
		}
	}
	t.Logf("%d labels_to_caption cases match", len(cases))
	if got := CaptionFromLabels([]string{" A Cat ", "remote control"}); got != "a cat. remote control." {
		t.Errorf("CaptionFromLabels = %q", got)
	}
}

func TestNormalizeCaption(t *testing.T) {
	for in, want := range map[string]string{
		"A Cat":            "a cat .",
		"a cat.":           "a cat.",
		"  Dog . Cat  \n":  "dog . cat .",
		"":                 " .",
		"ΟΔΟΣ":             "οδος .",
		"\x1cfoo\x1f":      "foo .",
		"Cat . Remote . ?": "cat . remote . ? .",
	} {
		if got := NormalizeCaption(in); got != want {
			t.Errorf("NormalizeCaption(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEncodeLabelsSpans(t *testing.T) {
	tok := loadTok(t)
	lb, err := tok.EncodeLabels([]string{"a cat", "all people", "Zebra"})
	if err != nil {
		t.Fatal(err)
	}
	// [CLS] a cat . a ##l ##l people . zebra . [SEP]
	want := []Span{{1, 3}, {4, 8}, {9, 10}}
	if !reflect.DeepEqual(lb.Spans, want) {
		t.Fatalf("spans %v want %v (tokens %q)", lb.Spans, want, lb.Encoding.Tokens)
	}
	for tokIdx, wantLabel := range map[int]int{0: -1, 1: 0, 2: 0, 3: -1, 5: 1, 6: 1, 9: 2, 11: -1, 99: -1} {
		if got := LabelOf(lb.Spans, tokIdx); got != wantLabel {
			t.Errorf("LabelOf(%d) = %d want %d", tokIdx, got, wantLabel)
		}
	}
	scores := make([]float32, MaxTextLen)
	scores[5], scores[6] = 0.4, 0.7 // ##l pieces of "all people"
	scores[2] = 0.6                 // cat
	scores[3] = 0.9                 // "." belongs to no label
	l, s, ok := BestLabel(lb.Spans, scores, 0.3)
	if !ok || l != 1 || s != 0.7 {
		t.Errorf("BestLabel = %d %v %v, want 1 0.7 true", l, s, ok)
	}
	if _, _, ok := BestLabel(lb.Spans, scores, 0.95); ok {
		t.Error("BestLabel above every score should fail")
	}
	if tr := lb.Truncate(5); tr.Spans[1] != (Span{4, 5}) || tr.Spans[2] != (Span{5, 5}) {
		t.Errorf("Truncate(5) spans %v", tr.Spans)
	}

	for _, bad := range [][]string{nil, {"cat", ""}, {"a.b"}, {"what?"}, {"  "}} {
		if _, err := tok.EncodeLabels(bad); err == nil {
			t.Errorf("EncodeLabels(%q) should fail", bad)
		}
	}

	ph, err := tok.EncodePhrases("a cat . A remote control? zebra")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a cat", "A remote control", "zebra"}; !reflect.DeepEqual(ph.Labels, want) {
		t.Errorf("EncodePhrases labels %q want %q", ph.Labels, want)
	}
	if want := []Span{{1, 3}, {4, 7}, {8, 9}}; !reflect.DeepEqual(ph.Spans, want) {
		t.Errorf("EncodePhrases spans %v want %v", ph.Spans, want)
	}
}

func TestEncodeBatch(t *testing.T) {
	tok := loadTok(t)
	// The batch fixture was fed exactly what the processor made of its captions.
	var meta struct {
		Captions []string `json:"captions"`
	}
	readJSON(t, filepath.Join(fixture.Dir(t, "gdino_swin_batch"), "case", "case.json"), &meta)
	f := fixture.Tensors(t, "gdino_swin_batch/case/tensors.safetensors")
	ids, shape := fixture.Int(t, f, "input.input_ids")
	am, _ := fixture.Int(t, f, "input.attention_mask")
	tt, _ := fixture.Int(t, f, "input.token_type_ids")
	encs, err := tok.EncodeBatch(meta.Captions)
	if err != nil {
		t.Fatal(err)
	}
	if len(encs) != shape[0] {
		t.Fatalf("%d encodings, want %d", len(encs), shape[0])
	}
	for b, e := range encs {
		row := ids[b*shape[1] : (b+1)*shape[1]]
		if !reflect.DeepEqual(e.InputIDs, row) ||
			!reflect.DeepEqual(e.AttentionMask, am[b*shape[1]:(b+1)*shape[1]]) ||
			!reflect.DeepEqual(e.TokenTypeIDs, tt[b*shape[1]:(b+1)*shape[1]]) {
			t.Errorf("row %d: got %v %v, want %v %v", b, e.InputIDs, e.AttentionMask, row, am[b*shape[1]:(b+1)*shape[1]])
		}
	}
	if encs, err := tok.EncodeBatch(nil); err != nil || len(encs) != 0 {
		t.Errorf("EncodeBatch(nil) = %v, %v", encs, err)
	}
}

// TestModelFolders loads the tokenizer shipped in each model folder and
// checks it reproduces the ids the reference fed to that model.
func TestModelFolders(t *testing.T) {
	for _, name := range []string{"gdino_swin_single", "gdino_swin_batch", "gdino_resnet"} {
		tok, err := Load(fixture.Dir(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var meta struct {
			Captions []string `json:"captions"`
		}
		readJSON(t, filepath.Join(fixture.Dir(t, name), "case", "case.json"), &meta)
		f := fixture.Tensors(t, name+"/case/tensors.safetensors")
		ids, shape := fixture.Int(t, f, "input.input_ids")
		encs, err := tok.EncodeBatch(meta.Captions)
		if err != nil {
			t.Fatal(err)
		}
		for b, e := range encs {
			if want := ids[b*shape[1] : (b+1)*shape[1]]; !reflect.DeepEqual(e.InputIDs, want) {
				t.Errorf("%s row %d: got %v want %v", name, b, e.InputIDs, want)
			}
		}
	}
}

func TestDecode(t *testing.T) {
	tok := loadTok(t)
	id := func(s string) int64 {
		v, ok := tok.TokenToID(s)
		if !ok {
			t.Fatalf("%q not in vocab", s)
		}
		return v
	}
	for _, c := range []struct {
		toks []string
		want string
	}{
		{nil, ""},
		{[]string{"a", "cat", ".", "[SEP]"}, "a cat. [SEP]"},
		{[]string{"a", ".", "a", ".", "[SEP]"}, "a. a. [SEP]"},
		{[]string{"cat", "[SEP]"}, "cat [SEP]"},
		{[]string{"a", "##l", "##l", "people"}, "all people"},
		{[]string{"##l", "people"}, "##l people"}, // a leading piece keeps its ##
		{[]string{"is", "?", "tv", ",", "laptop", "!"}, "is? tv, laptop!"},
		{[]string{"[CLS]", "a", "[PAD]"}, "[CLS] a [PAD]"},
		{[]string{"is", "'", "s"}, "is ' s"}, // per-token cleanup cannot see " ' "
		{[]string{"猫", "and", "狗"}, "猫 and 狗"},
	} {
		var ids []int64
		for _, s := range c.toks {
			ids = append(ids, id(s))
		}
		if got := tok.Decode(ids); got != c.want {
			t.Errorf("Decode(%q) = %q, want %q", c.toks, got, c.want)
		}
	}
	if got := tok.Decode([]int64{-5, id("cat"), 1 << 40, 999999}); got != "cat" {
		t.Errorf("unknown ids should be skipped, got %q", got)
	}
}

func sigmoid32(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

// TestPostprocessLabels rebuilds the reference text_labels from the stored
// model logits: sigmoid, box threshold on the max score, text threshold,
// get_phrases_from_posmap and decode.
func TestPostprocessLabels(t *testing.T) {
	tok := loadTok(t)
	total := 0
	for _, name := range []string{"gdino_swin_single", "gdino_swin_batch", "gdino_resnet"} {
		var meta struct {
			Postprocess struct {
				Threshold     float64 `json:"threshold"`
				TextThreshold float64 `json:"text_threshold"`
				Results       []struct {
					Scores     []float64 `json:"scores"`
					TextLabels []string  `json:"text_labels"`
				} `json:"results"`
			} `json:"postprocess"`
		}
		readJSON(t, filepath.Join(fixture.Dir(t, name), "case", "case.json"), &meta)
		f := fixture.Tensors(t, name+"/case/tensors.safetensors")
		logits, lshape, err := f.Float32("output.logits")
		if err != nil {
			t.Fatal(err)
		}
		ids, ishape := fixture.Int(t, f, "input.input_ids")
		nb, nq, width := lshape[0], lshape[1], lshape[2]
		// PyTorch compares a float32 tensor with a Python float in float32.
		th, tth := float32(meta.Postprocess.Threshold), float32(meta.Postprocess.TextThreshold)
		for b := 0; b < nb; b++ {
			rowIDs := ids[b*ishape[1] : (b+1)*ishape[1]]
			var got []string
			for q := 0; q < nq; q++ {
				probs := make([]float32, width)
				var best float32
				for k := range probs {
					probs[k] = sigmoid32(logits[(b*nq+q)*width+k])
					best = max(best, probs[k])
				}
				if best > th {
					got = append(got, tok.Phrase(rowIDs, probs, tth))
				}
			}
			want := meta.Postprocess.Results[b].TextLabels
			if len(want) == 0 {
				want = nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s image %d: text labels\n got %q\nwant %q", name, b, got, want)
			}
			total += len(want)
		}
	}
	t.Logf("%d reference text labels reproduced", total)
}

func TestPhraseIDs(t *testing.T) {
	ids := []int64{101, 1037, 1141, 1012, 102}
	scores := make([]float32, MaxTextLen)
	for i := range scores {
		scores[i] = 1 // everything above threshold, even past the tokens
	}
	// Position 0 is always dropped; [SEP] at 4 stays because the cut is at
	// the last of the 256 columns.
	if got := PhraseIDs(ids, scores, 0.5); !reflect.DeepEqual(got, []int64{1037, 1141, 1012, 102}) {
		t.Errorf("PhraseIDs = %v", got)
	}
	// With only len(ids) columns the last token is the cut one.
	if got := PhraseIDs(ids, scores[:5], 0.5); !reflect.DeepEqual(got, []int64{1037, 1141, 1012}) {
		t.Errorf("PhraseIDs short = %v", got)
	}
	if got := PhraseIDs(nil, nil, 0.5); got != nil {
		t.Errorf("PhraseIDs(nil) = %v", got)
	}
}

func TestSplitLabels(t *testing.T) {
	tok := loadTok(t)
	// A synthetic LVIS-sized list: 1203 labels of one to three vocabulary
	// words, some of them split into pieces.
	var words []string
	for id := int64(1100); len(words) < 150; id++ {
		w, ok := tok.IDToToken(id)
		if ok && !strings.HasPrefix(w, "##") && !strings.HasPrefix(w, "[") && utf8.RuneCountInString(w) > 1 {
			words = append(words, w)
		}
	}
	labels := make([]string, 1203)
	for i := range labels {
		l := words[i%len(words)]
		for k := 0; k < i%3; k++ {
			l += " " + words[(i*7+k*13)%len(words)]
		}
		if i%50 == 0 {
			l += " zzqx" // unknown word: several pieces
		}
		labels[i] = fmt.Sprintf("%s %d", l, i) // distinct labels
	}
	groups, err := tok.SplitLabels(labels, MaxTextLen)
	if err != nil {
		t.Fatal(err)
	}
	var union []string
	for gi, g := range groups {
		e, err := tok.Encode(CaptionFromLabels(g))
		if err != nil {
			t.Fatal(err)
		}
		if e.Len() > MaxTextLen {
			t.Errorf("group %d has %d tokens", gi, e.Len())
		}
		// Greedy packing: the next label would not have fitted.
		if gi+1 < len(groups) {
			e2, _ := tok.Encode(CaptionFromLabels(append(append([]string(nil), g...), groups[gi+1][0])))
			if e2.Len() <= MaxTextLen {
				t.Errorf("group %d could have taken one more label", gi)
			}
		}
		union = append(union, g...)
	}
	if !reflect.DeepEqual(union, labels) {
		t.Error("groups do not concatenate to the input list")
	}
	t.Logf("1203 labels → %d passes", len(groups))

	long := strings.Repeat("cat ", 300)
	if _, err := tok.SplitLabels([]string{"dog", long}, MaxTextLen); err == nil {
		t.Error("a label longer than maxTokens should be an error")
	}
	if _, err := tok.SplitLabels([]string{"dog"}, 3); err == nil {
		t.Error("maxTokens 3 should be an error")
	}
	if g, err := tok.SplitLabels(nil, MaxTextLen); err != nil || len(g) != 0 {
		t.Errorf("SplitLabels(nil) = %v, %v", g, err)
	}
}

func TestBadInput(t *testing.T) {
	tok := loadTok(t)
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", []string{"[CLS]", "[SEP]"}},
		{" \t\n ", []string{"[CLS]", "[SEP]"}},
		{"...", []string{"[CLS]", ".", ".", ".", "[SEP]"}},
		{"a\xffcat", []string{"[CLS]", "a", "##c", "##a", "##t", "[SEP]"}}, // invalid byte dropped
		{"a\u00a0cat", []string{"[CLS]", "a", "cat", "[SEP]"}},             // no-break space splits
		{"a\u200bcat\x00", []string{"[CLS]", "a", "##c", "##a", "##t", "[SEP]"}},
		{"x\vy", []string{"[CLS]", "x", "##y", "[SEP]"}}, // \v is a control char: removed
		{"[cls] [SEP", []string{"[CLS]", "[", "c", "##l", "##s", "]", "[", "s", "##e", "##p", "[SEP]"}},
		{strings.Repeat("a", 101), []string{"[CLS]", "[UNK]", "[SEP]"}}, // over max_input_chars_per_word
	} {
		e, err := tok.Encode(c.in)
		if err != nil {
			t.Errorf("Encode(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(e.Tokens, c.want) {
			t.Errorf("Encode(%q) tokens %q, want %q", c.in, e.Tokens, c.want)
		}
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Error("Load of an empty folder should fail")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(`{"model":{"type":"WordPiece","vocab":"oops"},"normalizer":{"type":"BertNormalizer"},"pre_tokenizer":{"type":"BertPreTokenizer"}}`), 0o644)
	if _, err := Load(dir); err == nil {
		t.Error("Load of a malformed tokenizer.json should fail")
	}
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(`{"model":{"type":"BPE"}}`), 0o644)
	if _, err := Load(dir); err == nil {
		t.Error("Load of a BPE tokenizer.json should fail")
	}
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(`not json`), 0o644)
	if _, err := Load(dir); err == nil {
		t.Error("Load of invalid JSON should fail")
	}
}

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"a cat . a remote control .", "cafés 猫 [SEP] x", "\xff\x00\t", ""} {
		f.Add(s)
	}
	tok := loadTok(f)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := tok.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		n := e.Len()
		if n < 2 || len(e.Tokens) != n || len(e.Offsets) != n || len(e.AttentionMask) != n || len(e.TokenTypeIDs) != n {
			t.Fatalf("inconsistent encoding of %q", s)
		}
		if e.InputIDs[0] != ClsID || e.InputIDs[n-1] != SepID {
			t.Fatalf("%q not wrapped in [CLS] [SEP]", s)
		}
		for i, o := range e.Offsets {
			if o[0] < 0 || o[0] > o[1] || o[1] > len(s) {
				t.Fatalf("%q token %d offset %v out of range", s, i, o)
			}
		}
		mask, pos := TextSelfAttentionMask(e.Truncate(MaxTextLen).InputIDs)
		m := min(n, MaxTextLen)
		if len(mask) != m*m || len(pos) != m {
			t.Fatal("mask size")
		}
		_ = tok.Decode(e.InputIDs)
		_ = NormalizeCaption(s)
	})
}

func BenchmarkEncode(b *testing.B) {
	tok := loadTok(b)
	text := CaptionFromLabels([]string{"person", "bicycle", "car", "motorcycle", "airplane", "bus", "train",
		"truck", "boat", "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
		"dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella"})
	e, _ := tok.Encode(text)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tok.Encode(text); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(e.Len()*b.N)/b.Elapsed().Seconds(), "tokens/s")
}
