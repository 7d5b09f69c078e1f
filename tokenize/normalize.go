package tokenize

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// This file reimplements the Hugging Face tokenizers BertNormalizer and
// BertPreTokenizer. sugarme/tokenizer v0.3.0 has both, but they differ from
// the reference:
//
//   - "strip_accents": null is read as false. The reference reads null as
//     "same as lowercase", so uncased BERT strips accents: "cafés" must give
//     c ##a ##f ##es, sugarme gives [UNK].
//   - clean_text only recognises ' ', \t, \n, \r as whitespace, so a
//     no-break space (U+00A0) and other Unicode spaces glue words together
//     ("a\u00a0b" becomes one [UNK]), and it maps whitespace to ' ' only
//     next to a removed character.
//   - control characters are only Cc and Cf; the reference also removes
//     private-use (Co), surrogate (Cs) and unassigned (Cn) code points.
//   - its CJK table has 0x2B820..0x2CEAF where the reference has
//     0x2B920..0x2CEAF.
//   - its lowercasing of U+0130 (İ) and the offsets it reports after
//     normalization are inconsistent ("İstanbul" gives "is ##t ...").
//
// Doing normalization here also lets us keep, for every normalized rune,
// the byte span of the original text it came from (token offsets).

// normRune is one rune of normalized text plus the byte span [start, end)
// of the original text it came from.
type normRune struct {
	r          rune
	start, end int
}

// bertNormalizer holds the BertNormalizer options of tokenizer.json.
type bertNormalizer struct {
	cleanText    bool
	handleCJK    bool
	stripAccents bool // already resolved: null means "same as lowercase"
	lowercase    bool
}

// normalize applies the BertNormalizer steps in the reference order
// (clean text, CJK padding, strip accents, lowercase) to text, whose
// bytes start at offset base of the original input.
func (n bertNormalizer) normalize(text string, base int, out []normRune) []normRune {
	var buf [8]rune
	for i := 0; i < len(text); {
		c, w := utf8.DecodeRuneInString(text[i:])
		start, end := base+i, base+i+w
		i += w
		// Invalid UTF-8 decodes to U+FFFD, which clean_text drops like the
		// reference drops a literal U+FFFD.
		if n.cleanText {
			if c == 0 || c == utf8.RuneError || isControl(c) {
				continue
			}
			if isWhitespace(c) {
				c = ' '
			}
		}
		if n.handleCJK && isChinese(c) {
			out = append(out, normRune{' ', start, end}, normRune{c, start, end}, normRune{' ', start, end})
			continue
		}
		rs := buf[:0]
		if n.stripAccents && c >= utf8.RuneSelf {
			for _, d := range norm.NFD.String(string(c)) {
				if !unicode.Is(unicode.Mn, d) {
					rs = append(rs, d)
				}
			}
		} else {
			rs = append(rs, c)
		}
		for _, r := range rs {
			if n.lowercase {
				if r == 'İ' {
					// The only unconditional one-to-many lowercase mapping.
					out = append(out, normRune{'i', start, end}, normRune{'\u0307', start, end})
					continue
				}
				r = unicode.ToLower(r)
			}
			out = append(out, normRune{r, start, end})
		}
	}
	return out
}

// isWhitespace is Rust's char::is_whitespace (the Unicode White_Space
// property), which the reference uses for clean_text and for splitting.
func isWhitespace(c rune) bool {
	return unicode.IsSpace(c)
}

// isControl is the reference is_control: every "Other" category (Cc, Cf,
// Co, Cs, Cn) except tab, newline and carriage return.
func isControl(c rune) bool {
	switch c {
	case '\t', '\n', '\r':
		return false
	}
	if unicode.Is(unicode.C, c) { // Cc, Cf, Co, Cs
		return true
	}
	return !unicode.IsOneOf(assigned, c) // Cn
}

var assigned = []*unicode.RangeTable{unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.C}

// isChinese is the reference is_chinese_char table (CJK ideograph blocks).
func isChinese(c rune) bool {
	switch {
	case c >= 0x4E00 && c <= 0x9FFF,
		c >= 0x3400 && c <= 0x4DBF,
		c >= 0x20000 && c <= 0x2A6DF,
		c >= 0x2A700 && c <= 0x2B73F,
		c >= 0x2B740 && c <= 0x2B81F,
		c >= 0x2B920 && c <= 0x2CEAF,
		c >= 0xF900 && c <= 0xFAFF,
		c >= 0x2F800 && c <= 0x2FA1F:
		return true
	}
	return false
}

// isPunct is the reference is_bert_punc: ASCII punctuation (which includes
// symbols such as $ + < = > ^ ` | ~) or any Unicode P* category.
func isPunct(c rune) bool {
	if c < utf8.RuneSelf {
		return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
	}
	return unicode.IsPunct(c)
}

// preTokenize is the reference BertPreTokenizer: split on whitespace
// (dropped), then isolate every punctuation rune. It returns [start, end)
// index ranges into runes.
func preTokenize(runes []normRune, out [][2]int) [][2]int {
	start := -1
	for i, nr := range runes {
		switch {
		case isWhitespace(nr.r):
			if start >= 0 {
				out = append(out, [2]int{start, i})
				start = -1
			}
		case isPunct(nr.r):
			if start >= 0 {
				out = append(out, [2]int{start, i})
				start = -1
			}
			out = append(out, [2]int{i, i + 1})
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		out = append(out, [2]int{start, len(runes)})
	}
	return out
}
