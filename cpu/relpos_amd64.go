//go:build amd64 && !purego

package cpu

// relPosRowAVX2 adds hr[ky] + wr[kx] to row[ky*ww+kx] for a wh×ww grid;
// ww is a positive multiple of 8.
//
//go:noescape
func relPosRowAVX2(row, hr, wr *float32, wh, ww int)
