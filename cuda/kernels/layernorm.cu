// LayerNorm over the last axis, in place: one block per row of d values.
extern "C" __global__ void gsam_layernorm(float* x, const float* w, const float* b, int rows, int d, float eps) {
    __shared__ float red[32];
    int r = blockIdx.x;
    if (r >= rows) return;
    float* row = x + (long long)r * d;
    float s = 0.0f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) s += row[i];
    float mean = gsam_block_sum(s, red) / d;
    float v = 0.0f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        float t = row[i] - mean;
        v += t * t;
    }
    float inv = rsqrtf(gsam_block_sum(v, red) / d + eps);
    for (int i = threadIdx.x; i < d; i += blockDim.x) row[i] = (row[i] - mean) * inv * w[i] + b[i];
}
