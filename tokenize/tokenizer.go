package tokenize

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	sugar "github.com/sugarme/tokenizer"
	sugarmodel "github.com/sugarme/tokenizer/model"
	"github.com/sugarme/tokenizer/model/wordpiece"
	"github.com/sugarme/tokenizer/pretrained"
)

// Tokenizer is a BERT WordPiece tokenizer configured like the Hub's
// tokenizer.json (or vocab.txt) of a Grounding DINO checkpoint.
// It is safe for concurrent use once loaded.
type Tokenizer struct {
	model  sugar.Model // WordPiece from sugarme: vocabulary and sub-word split
	norm   bertNormalizer
	prefix string // continuing sub-word prefix, "##"
	// maxChars is max_input_chars_per_word: longer words become [UNK].
	maxChars int
	cleanup  bool // WordPiece decoder cleanup (spaces before punctuation)
	// cleanupSpaces is the transformers-side clean_up_tokenization_spaces,
	// applied to the whole decoded string; off unless tokenizer_config.json
	// turns it on (transformers 5 default).
	cleanupSpaces bool

	cls, sep, pad, unk tokenID
	// special holds the added tokens matched verbatim in raw text before
	// normalization, longest first ([PAD], [UNK], [CLS], [SEP], [MASK]).
	special []tokenID
	// bracketOnly is true when every special token starts with '[', so
	// only positions holding '[' need to be checked.
	bracketOnly bool
	added       map[int]string // added tokens by id, for decoding
}

type tokenID struct {
	text string
	id   int
}

// Encoding is one tokenized text. All slices have the same length.
type Encoding struct {
	InputIDs      []int64
	TokenTypeIDs  []int64
	AttentionMask []int64 // 1 for real tokens, 0 for padding
	Tokens        []string
	// Offsets are byte offsets [start, end) of each token in the text given
	// to Encode. Special tokens added around the text and padding get [0, 0].
	Offsets [][2]int
}

// Len is the number of tokens.
func (e Encoding) Len() int { return len(e.InputIDs) }

// Truncate returns the first n tokens, as the Grounding DINO model slices
// input_ids, token_type_ids and attention_mask to max_text_len (no [SEP] is
// put back). An encoding no longer than n is returned unchanged.
func (e Encoding) Truncate(n int) Encoding {
	if n < 0 || len(e.InputIDs) <= n {
		return e
	}
	return Encoding{
		InputIDs:      e.InputIDs[:n:n],
		TokenTypeIDs:  e.TokenTypeIDs[:n:n],
		AttentionMask: e.AttentionMask[:n:n],
		Tokens:        e.Tokens[:n:n],
		Offsets:       e.Offsets[:n:n],
	}
}

// hubConfig is the part of tokenizer.json that decides the pipeline.
type hubConfig struct {
	AddedTokens []struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer *struct {
		Type               string `json:"type"`
		CleanText          *bool  `json:"clean_text"`
		HandleChineseChars *bool  `json:"handle_chinese_chars"`
		StripAccents       *bool  `json:"strip_accents"`
		Lowercase          *bool  `json:"lowercase"`
	} `json:"normalizer"`
	PreTokenizer *struct {
		Type string `json:"type"`
	} `json:"pre_tokenizer"`
	PostProcessor *struct {
		Type   string `json:"type"`
		Single []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
			Sequence *struct {
				ID string `json:"id"`
			} `json:"Sequence"`
		} `json:"single"`
		Cls []any `json:"cls"` // BertProcessing: ["[CLS]", 101]
		Sep []any `json:"sep"`
	} `json:"post_processor"`
	Decoder *struct {
		Type    string `json:"type"`
		Prefix  string `json:"prefix"`
		Cleanup *bool  `json:"cleanup"`
	} `json:"decoder"`
	Model struct {
		Type                    string `json:"type"`
		UnkToken                string `json:"unk_token"`
		ContinuingSubwordPrefix string `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    int    `json:"max_input_chars_per_word"`
	} `json:"model"`
}

// tokenizerConfig is the part of tokenizer_config.json we honour.
type tokenizerConfig struct {
	DoLowerCase          *bool   `json:"do_lower_case"`
	StripAccents         *bool   `json:"strip_accents"`
	TokenizeChineseChars *bool   `json:"tokenize_chinese_chars"`
	CleanUpSpaces        *bool   `json:"clean_up_tokenization_spaces"`
	UnkToken             *string `json:"unk_token"`
	ClsToken             *string `json:"cls_token"`
	SepToken             *string `json:"sep_token"`
	PadToken             *string `json:"pad_token"`
	MaskToken            *string `json:"mask_token"`
}

// Load reads a Hub model folder: tokenizer.json when present, otherwise
// vocab.txt with the BertTokenizer defaults (uncased, accents stripped,
// CJK split), adjusted by tokenizer_config.json when that file exists.
func Load(dir string) (*Tokenizer, error) {
	var tc tokenizerConfig
	if b, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json")); err == nil {
		if err := json.Unmarshal(b, &tc); err != nil {
			return nil, fmt.Errorf("tokenize: %s: %w", filepath.Join(dir, "tokenizer_config.json"), err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("tokenize: %w", err)
	}
	tj := filepath.Join(dir, "tokenizer.json")
	if _, err := os.Stat(tj); err == nil {
		t, err := loadTokenizerJSON(tj)
		if err != nil {
			return nil, err
		}
		if tc.CleanUpSpaces != nil {
			t.cleanupSpaces = *tc.CleanUpSpaces
		}
		return t, nil
	}
	vt := filepath.Join(dir, "vocab.txt")
	if _, err := os.Stat(vt); err != nil {
		return nil, fmt.Errorf("tokenize: %s has neither tokenizer.json nor vocab.txt", dir)
	}
	return loadVocabTxt(vt, tc)
}

// loadTokenizerJSON builds the tokenizer from tokenizer.json. sugarme's
// pretrained.FromFile supplies the WordPiece model; the pipeline settings
// are read here because sugarme misreads some of them.
func loadTokenizerJSON(path string) (t *Tokenizer, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %w", err)
	}
	var cfg hubConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("tokenize: %s: %w", path, err)
	}
	if cfg.Model.Type != "WordPiece" {
		return nil, fmt.Errorf("tokenize: %s: model type %q, want WordPiece (BERT)", path, cfg.Model.Type)
	}
	if cfg.Normalizer == nil || cfg.Normalizer.Type != "BertNormalizer" {
		return nil, fmt.Errorf("tokenize: %s: want a BertNormalizer", path)
	}
	if cfg.PreTokenizer == nil || cfg.PreTokenizer.Type != "BertPreTokenizer" {
		return nil, fmt.Errorf("tokenize: %s: want a BertPreTokenizer", path)
	}

	// sugarme panics on unexpected JSON types (unchecked type assertions).
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("tokenize: %s: sugarme failed: %v", path, r)
		}
	}()
	stk, err := pretrained.FromFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %s: %w", path, err)
	}
	model := stk.GetModel()
	if model == nil {
		return nil, fmt.Errorf("tokenize: %s: no model", path)
	}
	prefix := cfg.Model.ContinuingSubwordPrefix
	if prefix == "" {
		prefix = "##"
	}
	unk := cfg.Model.UnkToken
	if unk == "" {
		unk = "[UNK]"
	}
	maxChars := cfg.Model.MaxInputCharsPerWord
	if maxChars <= 0 {
		maxChars = 100
	}
	if prefix != "##" {
		// sugarme ignores continuing_subword_prefix (it calls Get, not Set).
		vocab := sugarmodel.Vocab(model.GetVocab())
		m := wordpiece.NewWordPieceBuilder().Vocab(&vocab).UnkToken(unk).
			ContinuingSubwordPrefix(prefix).MaxInputCharsPerWord(maxChars).Build()
		model = &m
	}

	n := cfg.Normalizer
	t = &Tokenizer{
		model:    model,
		prefix:   prefix,
		maxChars: maxChars,
		norm: bertNormalizer{
			cleanText: boolOr(n.CleanText, true),
			handleCJK: boolOr(n.HandleChineseChars, true),
			lowercase: boolOr(n.Lowercase, true),
		},
		added: map[int]string{},
	}
	// The reference reads strip_accents null as "follow lowercase".
	t.norm.stripAccents = boolOr(n.StripAccents, t.norm.lowercase)
	t.cleanup = true
	if cfg.Decoder != nil {
		if cfg.Decoder.Type != "WordPiece" {
			return nil, fmt.Errorf("tokenize: %s: decoder %q, want WordPiece", path, cfg.Decoder.Type)
		}
		t.cleanup = boolOr(cfg.Decoder.Cleanup, true)
		if cfg.Decoder.Prefix != "" {
			t.prefix = cfg.Decoder.Prefix
		}
	}
	for _, a := range cfg.AddedTokens {
		// Added tokens matched after normalization do not occur in BERT
		// checkpoints; refuse them instead of mis-tokenizing.
		if a.Normalized {
			return nil, fmt.Errorf("tokenize: %s: normalized added token %q is not supported", path, a.Content)
		}
		t.added[a.ID] = a.Content
		t.special = append(t.special, tokenID{a.Content, a.ID})
	}
	clsText, sepText := "[CLS]", "[SEP]"
	if pp := cfg.PostProcessor; pp != nil {
		switch pp.Type {
		case "TemplateProcessing":
			var seq []string
			for _, p := range pp.Single {
				switch {
				case p.SpecialToken != nil:
					seq = append(seq, p.SpecialToken.ID)
				case p.Sequence != nil:
					seq = append(seq, "$")
				}
			}
			if len(seq) != 3 || seq[1] != "$" {
				return nil, fmt.Errorf("tokenize: %s: post-processor template %v, want [CLS] $A [SEP]", path, seq)
			}
			clsText, sepText = seq[0], seq[2]
		case "BertProcessing":
			if len(pp.Cls) == 2 && len(pp.Sep) == 2 {
				clsText, _ = pp.Cls[0].(string)
				sepText, _ = pp.Sep[0].(string)
			}
		default:
			return nil, fmt.Errorf("tokenize: %s: post-processor %q not supported", path, pp.Type)
		}
	}
	if err := t.finish(unk, clsText, sepText, "[PAD]"); err != nil {
		return nil, fmt.Errorf("tokenize: %s: %w", path, err)
	}
	return t, nil
}

// loadVocabTxt builds the tokenizer transformers' BertTokenizer builds
// from a bare vocab.txt.
func loadVocabTxt(path string, tc tokenizerConfig) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %w", err)
	}
	// Python's readlines() in text mode: \r\n and \r are line ends too.
	s := strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", "\n"), "\r", "\n")
	s = strings.TrimSuffix(s, "\n")
	vocab := sugarmodel.Vocab{}
	if s != "" {
		for i, line := range strings.Split(s, "\n") {
			vocab[line] = i // a repeated line keeps its last index, as in load_vocab
		}
	}
	unk := strOr(tc.UnkToken, "[UNK]")
	m := wordpiece.NewWordPieceBuilder().Vocab(&vocab).UnkToken(unk).
		ContinuingSubwordPrefix("##").MaxInputCharsPerWord(100).Build()
	lower := boolOr(tc.DoLowerCase, true)
	t := &Tokenizer{
		model:    &m,
		prefix:   "##",
		maxChars: 100,
		cleanup:  true,
		norm: bertNormalizer{
			cleanText:    true,
			handleCJK:    boolOr(tc.TokenizeChineseChars, true),
			lowercase:    lower,
			stripAccents: boolOr(tc.StripAccents, lower),
		},
		cleanupSpaces: boolOr(tc.CleanUpSpaces, false),
		added:         map[int]string{},
	}
	for _, sp := range []string{strOr(tc.PadToken, "[PAD]"), unk, strOr(tc.ClsToken, "[CLS]"),
		strOr(tc.SepToken, "[SEP]"), strOr(tc.MaskToken, "[MASK]")} {
		id, ok := vocab[sp]
		if !ok {
			return nil, fmt.Errorf("tokenize: %s: special token %q not in vocabulary", path, sp)
		}
		t.added[id] = sp
		t.special = append(t.special, tokenID{sp, id})
	}
	if err := t.finish(unk, strOr(tc.ClsToken, "[CLS]"), strOr(tc.SepToken, "[SEP]"), strOr(tc.PadToken, "[PAD]")); err != nil {
		return nil, fmt.Errorf("tokenize: %s: %w", path, err)
	}
	return t, nil
}

// finish resolves the special token ids and orders the verbatim matches
// longest first (leftmost-longest matching, as the reference's
// Aho-Corasick search).
func (t *Tokenizer) finish(unk, cls, sep, pad string) error {
	var err error
	look := func(s string) tokenID {
		for _, a := range t.special {
			if a.text == s {
				return a
			}
		}
		id, ok := t.model.TokenToId(s)
		if !ok && err == nil {
			err = fmt.Errorf("special token %q not in vocabulary", s)
		}
		return tokenID{s, id}
	}
	t.unk, t.cls, t.sep, t.pad = look(unk), look(cls), look(sep), look(pad)
	sort.SliceStable(t.special, func(i, j int) bool { return len(t.special[i].text) > len(t.special[j].text) })
	t.bracketOnly = true
	for _, sp := range t.special {
		if !strings.HasPrefix(sp.text, "[") {
			t.bracketOnly = false
		}
	}
	return err
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

func strOr(p *string, def string) string {
	if p == nil || *p == "" {
		return def
	}
	return *p
}

// VocabSize is the number of entries in the WordPiece vocabulary.
func (t *Tokenizer) VocabSize() int { return t.model.GetVocabSize() }

// TokenToID looks a token up in the vocabulary.
func (t *Tokenizer) TokenToID(token string) (int64, bool) {
	for _, a := range t.special {
		if a.text == token {
			return int64(a.id), true
		}
	}
	id, ok := t.model.TokenToId(token)
	return int64(id), ok
}

// IDToToken returns the token of an id.
func (t *Tokenizer) IDToToken(id int64) (string, bool) {
	if s, ok := t.added[int(id)]; ok {
		return s, true
	}
	if id < 0 || id > int64(^uint32(0)>>1) {
		return "", false
	}
	return t.model.IdToToken(int(id))
}

// PadID is the id used to pad batches ([PAD], 0 for BERT).
func (t *Tokenizer) PadID() int64 { return int64(t.pad.id) }

// Encode tokenizes one text as [CLS] text [SEP], without truncation (the
// Grounding DINO processor does not truncate; see [Encoding.Truncate]).
// Any string is accepted: invalid UTF-8 bytes are dropped like U+FFFD and
// an empty text gives [CLS] [SEP].
func (t *Tokenizer) Encode(text string) (Encoding, error) {
	var e Encoding
	e.push(int64(t.cls.id), t.cls.text, [2]int{})
	var runes []normRune
	var words [][2]int
	// Added special tokens are matched in the raw text first and never
	// normalized; the text between them goes through the BERT pipeline.
	last := 0
	for i := 0; i < len(text); {
		sp, ok := t.specialAt(text, i)
		if !ok {
			i++
			continue
		}
		if err := t.encodePiece(&e, text[last:i], last, &runes, &words); err != nil {
			return Encoding{}, err
		}
		e.push(int64(sp.id), sp.text, [2]int{i, i + len(sp.text)})
		i += len(sp.text)
		last = i
	}
	if err := t.encodePiece(&e, text[last:], last, &runes, &words); err != nil {
		return Encoding{}, err
	}
	e.push(int64(t.sep.id), t.sep.text, [2]int{})
	return e, nil
}

func (t *Tokenizer) specialAt(text string, i int) (tokenID, bool) {
	if t.bracketOnly && text[i] != '[' {
		return tokenID{}, false
	}
	for _, sp := range t.special {
		if sp.text != "" && strings.HasPrefix(text[i:], sp.text) {
			return sp, true
		}
	}
	return tokenID{}, false
}

// encodePiece normalizes, pre-tokenizes and WordPiece-splits one stretch of
// raw text starting at byte base of the input.
func (t *Tokenizer) encodePiece(e *Encoding, piece string, base int, runes *[]normRune, words *[][2]int) error {
	if piece == "" {
		return nil
	}
	*runes = t.norm.normalize(piece, base, (*runes)[:0])
	*words = preTokenize(*runes, (*words)[:0])
	rs := *runes
	var sb strings.Builder
	for _, w := range *words {
		sb.Reset()
		for _, nr := range rs[w[0]:w[1]] {
			sb.WriteRune(nr.r)
		}
		word := sb.String()
		// Fast path: a whole word in the vocabulary is what the greedy
		// longest-match WordPiece returns first, without sugarme's
		// per-candidate allocations.
		if w[1]-w[0] <= t.maxChars {
			if id, ok := t.model.TokenToId(word); ok {
				e.push(int64(id), word, [2]int{rs[w[0]].start, rs[w[1]-1].end})
				continue
			}
		}
		toks, err := t.model.Tokenize(word)
		if err != nil {
			return fmt.Errorf("tokenize: wordpiece: %w", err)
		}
		for _, tk := range toks {
			// sugarme reports rune offsets within the word.
			s, en := w[0], w[1]
			if len(tk.Offsets) == 2 && tk.Offsets[0] >= 0 && tk.Offsets[1] <= w[1]-w[0] && tk.Offsets[0] < tk.Offsets[1] {
				s, en = w[0]+tk.Offsets[0], w[0]+tk.Offsets[1]
			}
			e.push(int64(tk.Id), tk.Value, [2]int{rs[s].start, rs[en-1].end})
		}
	}
	return nil
}

func (e *Encoding) push(id int64, tok string, off [2]int) {
	e.InputIDs = append(e.InputIDs, id)
	e.TokenTypeIDs = append(e.TokenTypeIDs, 0)
	e.AttentionMask = append(e.AttentionMask, 1)
	e.Tokens = append(e.Tokens, tok)
	e.Offsets = append(e.Offsets, off)
}

// EncodeBatch encodes several texts and right-pads them to the longest with
// [PAD] (attention mask 0), as the processor does with padding="longest".
func (t *Tokenizer) EncodeBatch(texts []string) ([]Encoding, error) {
	out := make([]Encoding, len(texts))
	longest := 0
	for i, s := range texts {
		e, err := t.Encode(s)
		if err != nil {
			return nil, fmt.Errorf("text %d: %w", i, err)
		}
		out[i] = e
		longest = max(longest, e.Len())
	}
	for i := range out {
		for out[i].Len() < longest {
			out[i].push(int64(t.pad.id), t.pad.text, [2]int{})
			out[i].AttentionMask[out[i].Len()-1] = 0
		}
	}
	return out, nil
}

// Decode turns ids back into text like the reference tokenizer.decode with
// skip_special_tokens=False: special tokens are kept, "##" pieces are glued
// to the previous token, other tokens are separated by a space, and the
// WordPiece decoder's cleanup removes the space before . ? ! , (per token).
// Ids outside the vocabulary are skipped.
func (t *Tokenizer) Decode(ids []int64) string {
	var sb strings.Builder
	n := 0
	for _, id := range ids {
		tok, ok := t.IDToToken(id)
		if !ok {
			continue
		}
		if n > 0 {
			if strings.HasPrefix(tok, t.prefix) {
				tok = tok[len(t.prefix):]
			} else {
				tok = " " + tok
			}
		}
		if t.cleanup {
			tok = cleanupToken(tok)
		}
		sb.WriteString(tok)
		n++
	}
	s := sb.String()
	if t.cleanupSpaces {
		s = cleanUpTokenizationSpaces(s)
	}
	return s
}

// cleanupToken is the tokenizers WordPiece decoder cleanup, applied to each
// token with its leading space.
func cleanupToken(s string) string {
	for _, r := range [...][2]string{
		{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
		{" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
	} {
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return s
}

// cleanUpTokenizationSpaces is transformers' clean_up_tokenization, used
// only when tokenizer_config.json sets clean_up_tokenization_spaces.
func cleanUpTokenizationSpaces(s string) string {
	for _, r := range [...][2]string{
		{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
		{" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
	} {
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return s
}
