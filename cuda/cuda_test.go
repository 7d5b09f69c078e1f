package cuda

import (
	"reflect"
	"strings"
	"testing"
)

// These tests run everywhere, GPU or not.

func TestKernelSourcesEmbedded(t *testing.T) {
	names, srcs, err := KernelSources()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 9 {
		t.Fatalf("only %d kernel sources embedded: %v", len(names), names)
	}
	for i, s := range srcs {
		if strings.TrimSpace(s) == "" {
			t.Errorf("%s is empty", names[i])
		}
		if strings.Count(s, "{") != strings.Count(s, "}") || strings.Count(s, "(") != strings.Count(s, ")") {
			t.Errorf("%s has unbalanced braces or parentheses", names[i])
		}
	}
	if names[0] != "00_common.cu" {
		t.Errorf("the shared helpers must come first, got %s", names[0])
	}
	src, err := programSource()
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, k := range kernelEntries(src) {
		if declared[k] {
			t.Errorf("kernel %s declared twice", k)
		}
		declared[k] = true
	}
	for _, k := range launchedKernels {
		if !declared[k] {
			t.Errorf("kernel %s is launched but not declared in kernels/*.cu", k)
		}
	}
	t.Logf("%d files, kernels %v", len(names), kernelEntries(src))
}

func TestAvailableGivesReason(t *testing.T) {
	ok, reason := Available()
	if reason == "" {
		t.Fatal("Available gave no reason")
	}
	if !ok && !strings.Contains(reason, "unavailable") {
		t.Errorf("reason %q does not say CUDA is unavailable", reason)
	}
	t.Logf("ok=%v: %s (cuBLAS: %v, NVRTC: %v)", ok, reason, errOrName(libs.cublasName, libs.cublasErr), errOrName(libs.nvrtcName, libs.nvrtcErr))
	if !ok {
		if _, err := Open(Options{}); err == nil || !strings.Contains(err.Error(), "unavailable") {
			t.Errorf("Open without a GPU: %v", err)
		}
	}
}

func errOrName(name string, err error) string {
	if err != nil {
		return err.Error()
	}
	return name
}

// TestSymbolTable checks what purego will bind: unique names, each a
// pointer to a nil-or-bound func variable whose parameter and result types
// purego can pass, the driver's versioned entry points.
func TestSymbolTable(t *testing.T) {
	seen := map[string]bool{}
	prefix := map[library]string{libCUDA: "cu", libCUBLAS: "cublas", libNVRTC: "nvrtc"}
	passable := map[reflect.Kind]bool{
		reflect.Int32: true, reflect.Uint32: true, reflect.Int64: true, reflect.Uint64: true,
		reflect.Uintptr: true, reflect.Pointer: true, reflect.UnsafePointer: true, reflect.String: true,
	}
	for _, s := range symbols {
		if seen[s.name] {
			t.Errorf("%s listed twice", s.name)
		}
		seen[s.name] = true
		if !strings.HasPrefix(s.name, prefix[s.lib]) {
			t.Errorf("%s is not a %s symbol", s.name, s.lib)
		}
		v := reflect.ValueOf(s.fn)
		if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Func {
			t.Errorf("%s: %T is not a pointer to a func variable", s.name, s.fn)
			continue
		}
		ft := v.Elem().Type()
		if ft.NumOut() != 1 || (ft.Out(0).Kind() != reflect.Int32 && ft.Out(0).Kind() != reflect.String) {
			t.Errorf("%s must return one status (int32) or a C string, returns %v", s.name, ft)
		}
		if ft.NumIn() > 32 {
			t.Errorf("%s has %d parameters, purego passes at most 32", s.name, ft.NumIn())
		}
		for i := 0; i < ft.NumIn(); i++ {
			if !passable[ft.In(i).Kind()] {
				t.Errorf("%s parameter %d has type %v", s.name, i, ft.In(i))
			}
		}
	}
	for _, name := range []string{"cuCtxCreate_v2", "cuMemAlloc_v2", "cuMemFree_v2", "cuMemcpyHtoD_v2", "cuMemcpyDtoH_v2",
		"cuLaunchKernel", "cuModuleLoadData", "cuModuleGetFunction", "cuStreamCreate", "cuStreamSynchronize",
		"cublasCreate_v2", "cublasSetStream_v2", "cublasSgemm_v2", "cublasSgemmStridedBatched", "cublasSetMathMode",
		"nvrtcCreateProgram", "nvrtcCompileProgram", "nvrtcGetPTXSize", "nvrtcGetPTX", "nvrtcGetProgramLog"} {
		if !seen[name] {
			t.Errorf("symbol table lacks %s", name)
		}
	}
	for _, l := range []library{libCUDA, libCUBLAS, libNVRTC} {
		if !strings.HasPrefix(l.String(), "lib") || !strings.Contains(l.String(), ".so") {
			t.Errorf("library name %q", l)
		}
	}
}

func TestSelect(t *testing.T) {
	dev, reason, err := Select("cpu")
	if dev != nil || err != nil || reason == "" {
		t.Errorf("Select(cpu) = %v, %q, %v", dev, reason, err)
	}
	if _, _, err := Select("tpu"); err == nil {
		t.Error("Select(tpu) accepted")
	}
	for _, s := range []string{"", "AUTO", "gpu", "Cuda"} {
		if _, err := ParseBackend(s); err != nil {
			t.Errorf("ParseBackend(%q): %v", s, err)
		}
	}
	dev, reason, err = Select("auto")
	if err != nil {
		t.Fatalf("Select(auto) must not fail: %v", err)
	}
	ok, _ := Available()
	if ok != (dev != nil) {
		t.Errorf("Select(auto) = %v with Available() = %v", dev, ok)
	}
	t.Logf("auto: %s", reason)
	if dev != nil {
		dev.Close()
		return
	}
	if _, _, err := Select("cuda"); err == nil {
		t.Error("Select(cuda) without a GPU did not fail")
	}
}

func TestBucket(t *testing.T) {
	for _, c := range [][2]int{{0, 512}, {1, 512}, {512, 512}, {513, 1024}, {4096, 4096}, {4097, 8192},
		{1 << 20, 1 << 20}, {1<<20 + 1, 2 << 20}, {5<<20 - 3, 5 << 20}} {
		if got := bucket(c[0]); got != c[1] {
			t.Errorf("bucket(%d) = %d, want %d", c[0], got, c[1])
		}
	}
}

// TestValidation checks the host-side argument checks with a closed fake
// device: bad sizes give their error, good ones reach the device and get
// ErrClosed. No GPU is touched.
func TestValidation(t *testing.T) {
	d := &Device{closed: true}
	buf := func(n int) *Buffer { return &Buffer{dev: d, n: n, block: bucket(4 * n)} }
	other := &Buffer{dev: &Device{}, n: 100, block: 512}
	freed := buf(10)
	freed.freed = true
	bad := map[string]error{
		"layernorm short x":  d.LayerNorm(buf(10), buf(4), buf(4), 3, 4, 1e-5),
		"layernorm nil bias": d.LayerNorm(buf(12), buf(4), nil, 3, 4, 1e-5),
		"gelu other device":  d.GELU(other, 10),
		"gelu freed":         d.GELU(freed, 10),
		"softmax mask":       d.SoftmaxRows(buf(2*3*4*5), 2, 3, 4, 5, buf(2*2*4*5), 2, 2),
		"msdeform levels":    d.MSDeformAttn(buf(10), buf(10), [][2]int{{2, 2}}, []int{0, 4}, buf(10), buf(10), 1, 4, 1, 1, 1, 1, 1),
		"msdeform extent":    d.MSDeformAttn(buf(10), buf(10), [][2]int{{3, 3}}, []int{0}, buf(10), buf(10), 1, 4, 1, 1, 1, 1, 1),
		"window multiple":    d.WindowPartition(buf(1000), buf(1000), 1, 10, 10, 1, 7, 3),
		"groupnorm groups":   d.GroupNorm(buf(60), buf(6), buf(6), 1, 6, 10, 4, 1e-5),
		"resize dst":         d.ResizeBilinear(buf(3), buf(16), 1, 4, 4, 2, 2),
		"sgemm ld":           d.Sgemm(false, false, 2, 3, 4, 1, buf(8), 3, buf(12), 3, 0, buf(6), 3),
		"sgemm short C":      d.Sgemm(false, true, 2, 3, 4, 1, buf(8), 4, buf(12), 4, 0, buf(5), 3),
		"sgemm batch":        d.SgemmStridedBatched(false, false, 2, 2, 2, 1, buf(8), 2, 4, buf(8), 2, 4, 0, buf(7), 2, 4, 2),
	}
	if _, _, err := d.Im2col(buf(10), buf(10), 1, 2, 2, 5, 5, 1, 0); err == nil {
		t.Error("im2col with a kernel larger than the image accepted")
	}
	if _, err := buf(10).View(5, 6); err == nil {
		t.Error("view past the end accepted")
	}
	for name, err := range bad {
		if err == nil || err == ErrClosed {
			t.Errorf("%s: got %v, want a validation error", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	good := map[string]error{
		"layernorm": d.LayerNorm(buf(12), buf(4), buf(4), 3, 4, 1e-5),
		"softmax":   d.SoftmaxRows(buf(2*3*4*5), 2, 3, 4, 5, buf(1*3*4*5), 1, 3),
		"sgemm":     d.Sgemm(true, true, 2, 3, 4, 1, buf(8), 2, buf(12), 4, 0, buf(6), 3),
		"window":    d.WindowReverse(buf(14*14*2), buf(14*14*2), 1, 14, 14, 2, 7, 3),
	}
	for name, err := range good {
		if err != ErrClosed {
			t.Errorf("%s: got %v, want ErrClosed", name, err)
		}
	}
}

// TestHostReferences checks the host references the GPU tests use.
func TestHostReferences(t *testing.T) {
	got := resizeRef([]float32{0, 1, 2, 3}, 1, 2, 2, 4, 4)
	want := []float32{0, .25, .75, 1, .5, .75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3} // F.interpolate
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("resizeRef = %v, want %v", got, want)
		}
	}
	x := []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15} // [1, 4, 4, 1]
	w := windowRef(x, 1, 4, 4, 1, 2, 1)
	// roll by -1 then 2×2 windows: first window is rows 1–2, cols 1–2.
	for i, v := range []float32{5, 6, 9, 10, 7, 4, 11, 8} {
		if w[i] != v {
			t.Fatalf("windowRef = %v", w)
		}
	}
}
