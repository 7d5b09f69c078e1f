// Package tokenize turns Grounding DINO text prompts into model inputs and
// model outputs back into text.
//
// It covers three steps, each matching Hugging Face transformers 5.17:
//
//   - BERT WordPiece tokenization ([Load], [Tokenizer.Encode],
//     [Tokenizer.EncodeBatch]) as the Hub's tokenizer.json or vocab.txt
//     describe it. The WordPiece model comes from github.com/sugarme/tokenizer;
//     normalization, pre-tokenization, special tokens and decoding are done
//     here because sugarme gets them wrong for BERT (see normalize.go).
//   - Grounding DINO caption handling: [CaptionFromLabels],
//     [NormalizeCaption], truncation to [MaxTextLen] ([Encoding.Truncate]),
//     the sub-sentence self-attention mask and position ids
//     ([TextSelfAttentionMask]) and splitting long label lists into several
//     passes ([Tokenizer.SplitLabels]).
//   - Token scores back to text: [Tokenizer.Phrase] reproduces the reference
//     post-processing (get_phrases_from_posmap + decode), and
//     [Tokenizer.EncodeLabels] with [BestLabel] maps scores to a clean label
//     from the input list instead.
//
// A typical Grounding DINO call:
//
//	tok, err := tokenize.Load(modelDir)
//	enc, err := tok.Encode(tokenize.CaptionFromLabels([]string{"cat", "remote control"}))
//	enc = enc.Truncate(tokenize.MaxTextLen)
//	mask, pos := tokenize.TextSelfAttentionMask(enc.InputIDs)
package tokenize
