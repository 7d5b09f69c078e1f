package tokenize

// PhraseIDs selects token ids as the reference get_phrases_from_posmap does
// for one detection: the positions whose score is above threshold, except
// the first position and everything from len(scores)-1 on.
//
// scores is the detection's row of per-token probabilities (sigmoid of the
// logits) over the model's full text width, normally [MaxTextLen] columns:
// the reference excludes the last column of that width, not the last real
// token, so passing only the first len(inputIDs) scores changes the result.
// Positions past the end of inputIDs are ignored (their logits are -inf in
// the model, so they are never above a threshold there).
func PhraseIDs(inputIDs []int64, scores []float32, threshold float32) []int64 {
	mask := make([]bool, len(scores))
	for i, s := range scores {
		mask[i] = s > threshold
	}
	return PhraseIDsMask(inputIDs, mask)
}

// PhraseIDsMask is [PhraseIDs] with the thresholded mask given directly.
func PhraseIDsMask(inputIDs []int64, mask []bool) []int64 {
	var ids []int64
	for i := 1; i < len(mask)-1 && i < len(inputIDs); i++ {
		if mask[i] {
			ids = append(ids, inputIDs[i])
		}
	}
	return ids
}

// Phrase is the reference text label of one detection: the tokens selected
// by [PhraseIDs] decoded with [Tokenizer.Decode], so sub-word pieces and
// special tokens can appear ("a cat. [SEP]", "##van"). Use [BestLabel] for
// a label from the input list instead.
func (t *Tokenizer) Phrase(inputIDs []int64, scores []float32, threshold float32) string {
	return t.Decode(PhraseIDs(inputIDs, scores, threshold))
}

// PhraseMask is [Tokenizer.Phrase] with the thresholded mask given directly.
func (t *Tokenizer) PhraseMask(inputIDs []int64, mask []bool) string {
	return t.Decode(PhraseIDsMask(inputIDs, mask))
}

// LabelOf returns the index of the span holding token position tokenIndex,
// or -1 when it is in none (special tokens, ".", padding).
func LabelOf(spans []Span, tokenIndex int) int {
	for i, s := range spans {
		if tokenIndex >= s.Start && tokenIndex < s.End {
			return i
		}
	}
	return -1
}

// BestLabel picks the label for one detection from per-token scores (same
// layout as for [PhraseIDs]): among labels with a token scoring above
// threshold, the one with the highest such score, ties going to the
// earlier label. It returns ok=false when no label token is above
// threshold. Unlike [Tokenizer.Phrase] the answer is always a whole input
// label, never a sub-word piece or two labels run together.
func BestLabel(spans []Span, scores []float32, threshold float32) (label int, score float32, ok bool) {
	label = -1
	for i, s := range spans {
		for j := max(s.Start, 0); j < s.End && j < len(scores); j++ {
			if v := scores[j]; v > threshold && (!ok || v > score) {
				label, score, ok = i, v, true
			}
		}
	}
	return label, score, ok
}
