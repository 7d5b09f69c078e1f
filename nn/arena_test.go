package nn

import (
	"sync"
	"testing"
)

func TestArenaReusesBuffersInRequestOrder(t *testing.T) {
	a := &Arena{}
	x := a.Floats(100)
	y := a.Zeros(50)
	for i := range x {
		x[i] = 1
	}
	for i := range y {
		y[i] = 2
	}
	a.Release(0)
	x2 := a.Floats(80) // fits in the first buffer
	y2 := a.Zeros(60)  // grows the second
	if &x2[0] != &x[0] {
		t.Error("first request of the second call got a new buffer")
	}
	if len(x2) != 80 || len(y2) != 60 {
		t.Errorf("lengths %d, %d, want 80, 60", len(x2), len(y2))
	}
	for i, v := range y2 {
		if v != 0 {
			t.Fatalf("Zeros[%d] = %v", i, v)
		}
	}
	if got := a.Bytes(); got != 4*(100+60) {
		t.Errorf("Bytes = %d, want %d", got, 4*160)
	}
	// Mark/Release: a loop body reuses its own buffers.
	m := a.Mark()
	p := a.Floats(10)
	a.Release(m)
	if q := a.Floats(10); &q[0] != &p[0] {
		t.Error("Release(Mark) did not hand the buffer back")
	}
	if n := testing.AllocsPerRun(10, func() {
		a.Release(0)
		a.Floats(100)
		a.Zeros(60)
		a.Floats(10)
	}); n != 0 {
		t.Errorf("steady-state requests allocate %v times", n)
	}
}

func TestNilArenaAllocates(t *testing.T) {
	var a *Arena
	x, y := a.Floats(3), a.Zeros(3)
	if len(x) != 3 || len(y) != 3 || &x[0] == &y[0] {
		t.Fatal("nil arena did not allocate distinct buffers")
	}
	a.Release(a.Mark())
	var p *Arenas
	if p.Get() != nil {
		t.Error("nil Arenas returned an arena")
	}
	p.Put(nil)
	p.Drop()
}

func TestArenasConcurrent(t *testing.T) {
	var p Arenas
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				a := p.Get()
				b := a.Floats(64)
				for j := range b {
					b[j] = float32(g)
				}
				for j := range b {
					if b[j] != float32(g) {
						t.Errorf("arena shared between goroutines")
						return
					}
				}
				p.Put(a)
			}
		}(g)
	}
	wg.Wait()
	if n := p.list.Len(); n > 8 {
		t.Errorf("%d free arenas after 8 concurrent users", n)
	}
}

func TestScratchTakesTheSmallestFit(t *testing.T) {
	big, small := Scratch(1000), Scratch(10)
	bigP, smallP := &big[:1][0], &small[:1][0]
	PutScratch(big)
	PutScratch(small) // handed back last: a request for 500 must still find big
	got := Scratch(500)
	if &got[:1][0] != bigP {
		t.Error("a 500-value request did not reuse the 1000-value buffer")
	}
	got2 := Scratch(5)
	if &got2[:1][0] != smallP {
		t.Error("a 5-value request did not reuse the 10-value buffer")
	}
	PutScratch(got)
	PutScratch(got2)
	if n := testing.AllocsPerRun(20, func() {
		a, b := Scratch(800), Scratch(8)
		PutScratch(a)
		PutScratch(b)
	}); n > 2 {
		t.Errorf("interleaved sizes allocate %v times per round", n)
	}
}
