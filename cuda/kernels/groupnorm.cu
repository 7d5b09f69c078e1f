// GroupNorm in place on x [B, C, HW]: one block per (batch, group); the
// group's cg = C/groups channels are contiguous. Per-channel affine after.
extern "C" __global__ void gsam_groupnorm(float* x, const float* w, const float* b, int B, int C, int HW, int groups, float eps) {
    __shared__ float red[32];
    int bg = blockIdx.x;
    if (bg >= B * groups) return;
    int g = bg % groups, bi = bg / groups;
    int cg = C / groups;
    long long n = (long long)cg * HW;
    float* seg = x + ((long long)bi * C + (long long)g * cg) * HW;
    float s = 0.0f;
    for (long long i = threadIdx.x; i < n; i += blockDim.x) s += seg[i];
    float mean = gsam_block_sum(s, red) / (float)n;
    float v = 0.0f;
    for (long long i = threadIdx.x; i < n; i += blockDim.x) {
        float t = seg[i] - mean;
        v += t * t;
    }
    float inv = rsqrtf(gsam_block_sum(v, red) / (float)n + eps);
    for (long long i = threadIdx.x; i < n; i += blockDim.x) {
        int ch = g * cg + (int)(i / HW);
        seg[i] = (seg[i] - mean) * inv * w[ch] + b[ch];
    }
}
