package tokenize

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxTextLen is Grounding DINO's max_text_len: the model keeps the first 256
// tokens of a caption and its logits have 256 text columns.
const MaxTextLen = 256

// The ids Grounding DINO treats as sub-sentence boundaries. The reference
// hard-codes them (bert-base-uncased ids), so they are fixed here too.
const (
	ClsID      = 101  // [CLS]
	SepID      = 102  // [SEP]
	DotID      = 1012 // "."
	QuestionID = 1029 // "?"
)

func isBoundary(id int64) bool {
	return id == ClsID || id == SepID || id == DotID || id == QuestionID
}

// CaptionFromLabels merges a label list into one caption as the reference
// processor does: each label stripped and lower-cased, joined by ". ", and a
// final "." (["A cat", "dog"] → "a cat. dog."). The processor only merges
// lists whose labels contain no "."; use [Tokenizer.EncodeLabels] to have
// such labels rejected.
func CaptionFromLabels(labels []string) string {
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = pyLower(pyStrip(l))
	}
	return strings.Join(parts, ". ") + "."
}

// NormalizeCaption is the original Grounding DINO preprocess_caption:
// lower-case, strip, and append " ." unless the caption already ends
// with ".".
func NormalizeCaption(s string) string {
	s = pyStrip(pyLower(s))
	if strings.HasSuffix(s, ".") {
		return s
	}
	return s + " ."
}

// pyStrip is Python's str.strip(): it also strips the ASCII separators
// U+001C..U+001F, which Go's TrimSpace keeps.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
	})
}

// pyLower is Python's str.lower(): Unicode lower case plus the two
// context rules that matter in practice (İ → i̇, final sigma → ς).
func pyLower(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	rs := []rune(s)
	var sb strings.Builder
	for i, r := range rs {
		switch {
		case r == 'İ':
			sb.WriteString("i\u0307")
		case r == 'Σ' && finalSigma(rs, i):
			sb.WriteRune('ς')
		default:
			sb.WriteRune(unicode.ToLower(r))
		}
	}
	return sb.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// finalSigma reports whether the Σ at i ends a word: a cased letter before
// it and none after it (case-ignorable marks skipped), as Python decides.
func finalSigma(rs []rune, i int) bool {
	cased := func(r rune) bool { return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) }
	ignorable := func(r rune) bool {
		return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk) || r == '\'' || r == '.' || r == ':' || r == '\u00b7' || r == '\u2019'
	}
	j := i - 1
	for j >= 0 && ignorable(rs[j]) {
		j--
	}
	if j < 0 || !cased(rs[j]) {
		return false
	}
	k := i + 1
	for k < len(rs) && ignorable(rs[k]) {
		k++
	}
	return k == len(rs) || !cased(rs[k])
}

// TextSelfAttentionMask returns Grounding DINO's sub-sentence attention mask
// (row-major L×L, true = may attend) and text position ids for one row of
// input ids, as generate_masks_with_special_tokens_and_transfer_map in
// transformers 5.17: tokens attend to the tokens that share their next
// boundary token ([CLS], [SEP], ".", "?") and to themselves, blocks closed
// by the boundary at position 0 or L-1 (or by none) are not blocks, and a
// token's position id counts from the previous boundary (0 on boundaries
// and outside blocks).
//
// Pass ids already truncated to [MaxTextLen]: the golden data computes the
// mask on the first 256 tokens. Padding rows need no special care: [PAD]
// tokens have no following boundary and only attend to themselves.
func TextSelfAttentionMask(inputIDs []int64) (mask []bool, positionIDs []int64) {
	n := len(inputIDs)
	mask = make([]bool, n*n)
	positionIDs = make([]int64, n)
	next := make([]int, n)
	nxt := n
	for i := n - 1; i >= 0; i-- {
		if isBoundary(inputIDs[i]) {
			nxt = i
		}
		next[i] = nxt
	}
	prev := -1
	for i := 0; i < n; i++ {
		if isBoundary(inputIDs[i]) {
			prev = i
		}
		mask[i*n+i] = true
		nb := next[i]
		if nb == 0 || nb == n-1 || nb == n {
			continue // not inside a block
		}
		if p := i - prev - 1; p > 0 {
			positionIDs[i] = int64(p)
		}
		// The block is prev+1 .. nb when i is not itself a boundary, and
		// the tokens after the previous boundary up to i when it is.
		lo := prev + 1
		if isBoundary(inputIDs[i]) {
			lo = blockStart(inputIDs, i)
		}
		for j := lo; j <= nb; j++ {
			mask[i*n+j] = true
		}
	}
	return mask, positionIDs
}

// blockStart is the first index of the block a boundary at i closes.
func blockStart(ids []int64, i int) int {
	j := i - 1
	for j >= 0 && !isBoundary(ids[j]) {
		j--
	}
	return j + 1
}

// Span is a half-open range [Start, End) of token positions.
type Span struct{ Start, End int }

// Labeled is a caption with the token span of each of its labels.
type Labeled struct {
	Caption  string
	Labels   []string // the labels as given, or the phrases of a free caption
	Spans    []Span   // Spans[i]: tokens of Labels[i] in Encoding
	Encoding Encoding
}

// EncodeLabels builds the caption of [CaptionFromLabels] and encodes it,
// recording which tokens belong to which label (the "." after a label is
// not part of its span). Labels that are empty or contain "." or "?" are an
// error: they would split into several sub-sentences and could not be
// mapped back. The encoding is not truncated; spans past [MaxTextLen] are
// clipped by [Labeled.Truncate].
func (t *Tokenizer) EncodeLabels(labels []string) (*Labeled, error) {
	if len(labels) == 0 {
		return nil, errors.New("tokenize: empty label list")
	}
	ranges := make([][2]int, len(labels))
	pos := 0
	for i, l := range labels {
		c := pyLower(pyStrip(l))
		switch {
		case c == "":
			return nil, fmt.Errorf("tokenize: label %d is empty", i)
		case strings.ContainsAny(c, ".?"):
			return nil, fmt.Errorf("tokenize: label %d (%q) contains '.' or '?', which split sub-sentences", i, l)
		}
		ranges[i] = [2]int{pos, pos + len(c)}
		pos += len(c) + len(". ")
	}
	caption := CaptionFromLabels(labels)
	enc, err := t.Encode(caption)
	if err != nil {
		return nil, err
	}
	lb := &Labeled{Caption: caption, Labels: append([]string(nil), labels...), Spans: make([]Span, len(labels)), Encoding: enc}
	for i, r := range ranges {
		lb.Spans[i] = tokenSpan(enc, r)
		if lb.Spans[i].Start == lb.Spans[i].End {
			return nil, fmt.Errorf("tokenize: label %d (%q) gives no tokens", i, labels[i])
		}
	}
	return lb, nil
}

// tokenSpan finds the tokens whose offsets lie inside the byte range r.
func tokenSpan(enc Encoding, r [2]int) Span {
	s := Span{-1, -1}
	for j, off := range enc.Offsets {
		if off[0] == off[1] {
			continue // [CLS], [SEP], padding
		}
		if off[0] >= r[0] && off[1] <= r[1] {
			if s.Start < 0 {
				s.Start = j
			}
			s.End = j + 1
		}
	}
	if s.Start < 0 {
		return Span{}
	}
	return s
}

// EncodePhrases encodes a free caption ("a cat . a remote control .") and
// treats the runs of tokens between boundary tokens ([CLS], [SEP], ".",
// "?") as its labels; each label's text is the caption text those tokens
// cover.
func (t *Tokenizer) EncodePhrases(caption string) (*Labeled, error) {
	enc, err := t.Encode(caption)
	if err != nil {
		return nil, err
	}
	lb := &Labeled{Caption: caption, Encoding: enc}
	start := -1
	for j, id := range enc.InputIDs {
		if !isBoundary(id) {
			if start < 0 {
				start = j
			}
			continue
		}
		if start >= 0 {
			lb.add(start, j)
			start = -1
		}
	}
	if start >= 0 {
		lb.add(start, len(enc.InputIDs))
	}
	return lb, nil
}

func (lb *Labeled) add(start, end int) {
	a, b := lb.Encoding.Offsets[start][0], lb.Encoding.Offsets[end-1][1]
	text := ""
	if a < b && b <= len(lb.Caption) {
		text = lb.Caption[a:b]
	}
	lb.Labels = append(lb.Labels, text)
	lb.Spans = append(lb.Spans, Span{start, end})
}

// Truncate cuts the encoding to n tokens as the model does and clips the
// spans; labels that lose all their tokens keep an empty span.
func (lb *Labeled) Truncate(n int) *Labeled {
	out := *lb
	out.Encoding = lb.Encoding.Truncate(n)
	out.Spans = make([]Span, len(lb.Spans))
	for i, s := range lb.Spans {
		s.End = min(s.End, out.Encoding.Len())
		s.Start = min(s.Start, s.End)
		out.Spans[i] = s
	}
	return &out
}

// SplitLabels splits a label list into consecutive groups whose merged
// captions ([CaptionFromLabels]) each encode to at most maxTokens tokens,
// [CLS] and [SEP] included, so that a long vocabulary (LVIS has 1203
// classes) can be run in several passes. Labels are never split or
// reordered; a label that does not fit alone is an error.
func (t *Tokenizer) SplitLabels(labels []string, maxTokens int) ([][]string, error) {
	if maxTokens < 4 {
		return nil, fmt.Errorf("tokenize: maxTokens %d leaves no room for a label", maxTokens)
	}
	var groups [][]string
	var cur []string
	used := 2 // [CLS] and [SEP]
	for i, l := range labels {
		e, err := t.Encode(pyLower(pyStrip(l)))
		if err != nil {
			return nil, err
		}
		need := e.Len() - 2 + 1 // the label's tokens and its "."
		if 2+need > maxTokens {
			return nil, fmt.Errorf("tokenize: label %d (%q) needs %d tokens, more than %d", i, l, 2+need, maxTokens)
		}
		if used+need > maxTokens {
			groups = append(groups, cur)
			cur, used = nil, 2
		}
		cur = append(cur, l)
		used += need
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	// The count above assumes labels tokenize the same alone and merged;
	// check it on the real captions rather than trust it.
	for _, g := range groups {
		e, err := t.Encode(CaptionFromLabels(g))
		if err != nil {
			return nil, err
		}
		if e.Len() > maxTokens {
			return nil, fmt.Errorf("tokenize: split group of %d labels encodes to %d tokens, more than %d", len(g), e.Len(), maxTokens)
		}
	}
	return groups, nil
}
