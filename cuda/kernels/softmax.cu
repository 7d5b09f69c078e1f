// Softmax in place over rows of n values, after adding an optional additive
// mask. Rows are scores [B, H, Lq, n]; the mask is [mB, mH, Lq, n] with mB
// in {1, B} and mH in {1, H} (broadcast). A row that is entirely -inf
// becomes zeros, as the CPU version. One block per row.
extern "C" __global__ void gsam_softmax_rows(float* x, const float* mask, int rows, int n, int H, int Lq, int mB, int mH) {
    __shared__ float red[32];
    int r = blockIdx.x;
    if (r >= rows) return;
    float* row = x + (long long)r * n;
    const float* m = 0;
    if (mask) {
        int q = r % Lq, h = (r / Lq) % H, b = r / (Lq * H);
        long long mr = ((long long)(mB == 1 ? 0 : b) * mH + (mH == 1 ? 0 : h)) * Lq + q;
        m = mask + mr * n;
    }
    float mx = GSAM_NEG_INF;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float v = row[i];
        if (m) v += m[i];
        row[i] = v;
        mx = fmaxf(mx, v);
    }
    mx = gsam_block_max(mx, red);
    if (mx == GSAM_NEG_INF) {
        for (int i = threadIdx.x; i < n; i += blockDim.x) row[i] = 0.0f;
        return;
    }
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float e = expf(row[i] - mx);
        row[i] = e;
        s += e;
    }
    float inv = 1.0f / gsam_block_sum(s, red);
    for (int i = threadIdx.x; i < n; i += blockDim.x) row[i] *= inv;
}
