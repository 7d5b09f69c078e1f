package cpu

import "testing"

func TestFreeListReuses(t *testing.T) {
	var p FreeList[[]float32]
	x := p.Get()
	*x = make([]float32, 10)
	p.Put(x)
	if y := p.Get(); y != x || len(*y) != 10 {
		t.Error("Get after Put returned another value")
	}
	if z := p.Get(); z == x {
		t.Error("one value handed out twice")
	}
	var nilList *FreeList[int]
	if nilList.Get() == nil {
		t.Error("nil FreeList returned nil")
	}
	nilList.Put(new(int))
}
