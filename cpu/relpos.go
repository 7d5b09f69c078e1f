package cpu

// AddRelPosRows adds decomposed relative-position terms to rows of an
// attention score matrix over a wh×ww key grid: for each of the rows,
// scores[r, ky*ww+kx] += rh[r, ky] + rw[r, kx] (the sum of the two terms
// is formed first, as PyTorch's broadcast add of the two factors does).
// scores is [rows, wh*ww], rh [rows, wh], rw [rows, ww]. With AVX2 the
// grid rows run eight lanes at a time when ww is a multiple of 8.
func AddRelPosRows(scores, rh, rw []float32, rows, wh, ww int) {
	L := wh * ww
	if rows <= 0 || L == 0 {
		return
	}
	_ = scores[rows*L-1]
	_ = rh[rows*wh-1]
	_ = rw[rows*ww-1]
	if vecAVX2 && ww%8 == 0 {
		for r := 0; r < rows; r++ {
			relPosRowAVX2(&scores[r*L], &rh[r*wh], &rw[r*ww], wh, ww)
		}
		return
	}
	for r := 0; r < rows; r++ {
		addRelPosRowGo(scores[r*L:(r+1)*L], rh[r*wh:(r+1)*wh], rw[r*ww:(r+1)*ww])
	}
}

// addRelPosRowGo is the reference for one row.
func addRelPosRowGo(row, hr, wr []float32) {
	ww := len(wr)
	for ky, hv := range hr {
		seg := row[ky*ww : (ky+1)*ww]
		for kx := range seg {
			seg[kx] += hv + wr[kx]
		}
	}
}
